// parley demo, Node edition: the travel concierge with a billing desk of ../demo.py, on
// @livekit/agents (two agents, scripted model, no network, no keys).
//
// Agents (explicit ids): "concierge" (first) and "billing"; each greets in onEnter.
// Triggers, concierge (tests rely on these):
//   (on enter)       -> "Hi! I'm your travel concierge. I can check the weather, look up a ..."
//   "weather in X"   -> lookup_weather({location: X}) -> "The weather in X is sunny with a ..."
//   "booking ABC123" -> lookup_booking ok -> "Your booking ABC123 is two nights at the Harbor ..."
//   "booking OTHER"  -> lookup_booking throws ToolError("No booking found with number OTHER.")
//   "slow [N]"       -> slow_search({seconds: N}, default 3) -> "The search took N seconds ..."
//   "billing"        -> transfer_to_billing() -> handoff concierge -> billing (billing greets)
//   "shh"/"silence"  -> says nothing (the run answers error='agent produced no response items')
//   "explode"        -> model failure: APIStatusError("scripted model failure", retryable: false)
//   anything else    -> "I can check the weather, look up a booking, run a slow search, or ..."
// Triggers, billing:
//   (on enter)       -> "Hi, this is billing. I can check your balance or take you back to ..."
//   "balance"        -> check_balance() -> "$42.00" -> "Your balance is $42.00."
//   "concierge"      -> transfer_to_concierge() -> handoff billing -> concierge
//   anything else    -> "I can only help with billing here. Say concierge to go back."
import { llm, voice } from '@livekit/agents';
import { ScriptedLLM } from './scripted_llm.mjs';

export const WEATHER = 'sunny with a temperature of 70 degrees.';
export const BOOKINGS = { ABC123: 'two nights at the Harbor Hotel, checking in on June 3.' };
export const BALANCE = '$42.00';
const FAILURE = 'scripted model failure';

const explode = { match: '\\bexplode\\b', fail: FAILURE };

function conciergeLLM() {
  return new ScriptedLLM({
    rules: [
      {
        match: '\\bweather (?:in|for|at) (?<loc>[^?.!,]+)',
        call: 'lookup_weather',
        args: (m) => ({ location: m.groups.loc.trim() }),
      },
      {
        match: '\\bbooking\\s+(?:number\\s+|#)?(?<id>[A-Za-z0-9-]+)',
        call: 'lookup_booking',
        args: (m) => ({ booking_id: m.groups.id.toUpperCase() }),
      },
      {
        match: '\\bslow\\b(?:\\s+search)?(?:\\s+(?<s>\\d+(?:\\.\\d+)?))?',
        call: 'slow_search',
        args: (m) => ({ seconds: m.groups.s ? Number(m.groups.s) : 3 }),
      },
      { match: '\\bbilling\\b', call: 'transfer_to_billing' },
      { match: '\\b(?:shh|silence)\\b', say: '' },
      explode,
    ],
    greeting:
      "Hi! I'm your travel concierge. I can check the weather, look up a booking, " +
      'or connect you to billing.',
    fallback:
      'I can check the weather, look up a booking, run a slow search, or connect you to billing.',
    toolReplies: {
      lookup_weather: (a, o, err) =>
        err
          ? `Sorry, I couldn't get the weather. ${o}`
          : `The weather in ${a.location ?? 'there'} is ${o}`,
      lookup_booking: (a, o, err) =>
        err ? `Sorry, I couldn't find that booking. ${o}` : `Your booking ${a.booking_id} is ${o}`,
      slow_search: (a, o, err) => (err ? `Sorry, the search failed. ${o}` : o),
    },
  });
}

function billingLLM() {
  return new ScriptedLLM({
    rules: [
      { match: '\\bbalance\\b', call: 'check_balance' },
      { match: '\\bconcierge\\b', call: 'transfer_to_concierge' },
      explode,
    ],
    greeting: 'Hi, this is billing. I can check your balance or take you back to the concierge.',
    fallback: 'I can only help with billing here. Say concierge to go back.',
    toolReplies: { check_balance: (a, o) => `Your balance is ${o}.` },
  });
}

const noArgs = { type: 'object', properties: {}, required: [] };

export class ConciergeAgent extends voice.Agent {
  constructor() {
    super({
      id: 'concierge',
      instructions:
        'You are a friendly travel concierge. You check the weather, look up bookings and ' +
        'hand billing questions to the billing desk.',
      llm: conciergeLLM(),
      tools: {
        lookup_weather: llm.tool({
          description: 'Look up the current weather for a location.',
          parameters: {
            type: 'object',
            properties: { location: { type: 'string', description: 'The city or place.' } },
            required: ['location'],
          },
          execute: async () => WEATHER,
        }),
        lookup_booking: llm.tool({
          description: 'Look up a travel booking by its booking number.',
          parameters: {
            type: 'object',
            properties: { booking_id: { type: 'string', description: 'e.g. "ABC123"' } },
            required: ['booking_id'],
          },
          execute: async ({ booking_id }) => {
            const details = BOOKINGS[booking_id.trim().toUpperCase()];
            if (details === undefined) {
              throw new llm.ToolError(`No booking found with number ${booking_id}.`);
            }
            return details;
          },
        }),
        slow_search: llm.tool({
          description: 'Search hotels; slow on purpose (takes `seconds` seconds).',
          parameters: {
            type: 'object',
            properties: { seconds: { type: 'number', description: 'How long, in seconds.' } },
            required: [],
          },
          execute: async ({ seconds = 3 }) => {
            await new Promise((resolve) => setTimeout(resolve, Math.max(0, seconds) * 1000));
            return `The search took ${seconds} seconds and found 3 hotels.`;
          },
        }),
        transfer_to_billing: llm.tool({
          description: 'Transfer the user to the billing desk.',
          parameters: noArgs,
          execute: async () => llm.handoff({ agent: new BillingAgent() }),
        }),
      },
    });
  }

  async onEnter() {
    this.session.generateReply({ instructions: 'Greet the user and say what you can do.' });
  }
}

export class BillingAgent extends voice.Agent {
  constructor() {
    super({
      id: 'billing',
      instructions: 'You are the billing desk. You tell users their balance.',
      llm: billingLLM(),
      tools: {
        check_balance: llm.tool({
          description: "Return the user's current balance.",
          parameters: noArgs,
          execute: async () => BALANCE,
        }),
        transfer_to_concierge: llm.tool({
          description: 'Transfer the user back to the travel concierge.',
          parameters: noArgs,
          execute: async () => llm.handoff({ agent: new ConciergeAgent() }),
        }),
      },
    });
  }

  async onEnter() {
    this.session.generateReply({ instructions: 'Greet the user as the billing desk.' });
  }
}

/** The job entry shared by agent.mjs and src/main.ts. */
export async function entry(ctx) {
  const session = new voice.AgentSession({});
  await session.start({ agent: new ConciergeAgent(), room: ctx.room });
}
