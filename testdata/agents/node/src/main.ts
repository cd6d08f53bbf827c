// The TypeScript entry, as in LiveKit's Node starter template: `npm run dev` runs
// `tsx src/main.ts dev`; parley runs `<runtime> src/main.ts console --connect-addr ...`.
// It imports ./agent.js, which TypeScript (and tsx) resolve to ./agent.ts.
import { type JobContext, ServerOptions, cli, defineAgent, voice } from '@livekit/agents';
import { fileURLToPath } from 'node:url';
import { firstAgent } from './agent.js';

export default defineAgent({
  entry: async (ctx: JobContext): Promise<void> => {
    const session = new voice.AgentSession({});
    await session.start({ agent: firstAgent(), room: ctx.room });
  },
});

cli.runApp(new ServerOptions({ agent: fileURLToPath(import.meta.url) }));
