// The agents of the TypeScript entry, in the layout of LiveKit's Node starter template
// (src/agent.ts defines the agent, src/main.ts runs it). They are the demo's agents
// (../demo.mjs); this file only adds types, so the TS path is exercised end to end.
import type { voice } from '@livekit/agents';
import { BillingAgent, ConciergeAgent } from '../demo.mjs';

export type DemoAgent = voice.Agent;

export function firstAgent(): DemoAgent {
  return new ConciergeAgent() as DemoAgent;
}

export { BillingAgent, ConciergeAgent };
