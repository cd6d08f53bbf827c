// A deterministic, offline `llm.LLM` for @livekit/agents (Node), driven by keyword rules.
//
// The JS twin of ../scripted_llm.py: the agent runs on the real @livekit/agents runtime end to
// end; only the model is scripted. No network, no API keys, same input -> same output.
//
// How a response is chosen (looking at the chat context it is given):
// 1. the last relevant item is a function call output: one sentence per output of the trailing
//    group of calls, built by toolReplies[name](args, output, isError). Never calls a tool.
// 2. the last relevant item is a user message: the first rule whose `match` regex is found in
//    the text (case-insensitive) says a text, calls a tool, or fails. No rule -> `fallback`.
// 3. anything else (nothing, an assistant message, an onEnter greeting's instructions): greeting.
//
// Traps handled (as in the Python script): toolChoice "none" is honoured (text only); a rule
// only calls a tool of *this* request's tool context; model/provider are overridden and every
// response ends with a usage chunk; a scripted failure is APIStatusError(retryable: false).
import { APIStatusError, llm } from '@livekit/agents';

let callIds = 0;
let responseIds = 0;

const RELEVANT = new Set(['message', 'function_call', 'function_call_output']);

function relevantItems(chatCtx) {
  return chatCtx.items.filter(
    (it) => RELEVANT.has(it.type) && !(it.type === 'message' && it.role === 'system'),
  );
}

function splitChunks(text, parts = 3) {
  const words = text.match(/\S+\s*/g) ?? [];
  if (words.length <= 1) return [text];
  const size = Math.ceil(words.length / parts);
  const out = [];
  for (let i = 0; i < words.length; i += size) out.push(words.slice(i, i + size).join(''));
  return out;
}

function wordCount(chatCtx) {
  let n = 0;
  for (const it of chatCtx.items) {
    if (it.type === 'message') n += (it.textContent ?? '').split(/\s+/).filter(Boolean).length;
    else if (it.type === 'function_call') n += it.args.split(/\s+/).length + 1;
    else if (it.type === 'function_call_output') n += it.output.split(/\s+/).length;
  }
  return n;
}

/** A keyword rule: { match, say?, call?, args?, fail? } (say/args may be functions of the match). */
export class ScriptedLLM extends llm.LLM {
  constructor({ rules = [], greeting, fallback, toolReplies = {}, unavailable } = {}) {
    super();
    this.rules = rules.map((r) => ({ ...r, regex: new RegExp(r.match, 'is') }));
    this.greeting = greeting ?? 'Hello! How can I help?';
    this.fallback = fallback ?? "Sorry, I can't help with that.";
    this.toolReplies = toolReplies;
    this.unavailable = unavailable ?? "Sorry, I can't do that right now.";
  }

  label() {
    return 'parley-testdata.ScriptedLLM';
  }

  get model() {
    return 'scripted';
  }

  get provider() {
    return 'parley-testdata';
  }

  chat({ chatCtx, toolCtx, connOptions, toolChoice }) {
    return new ScriptedLLMStream(this, { chatCtx, toolCtx, connOptions, toolChoice });
  }

  /** What to answer to chatCtx (pure). */
  plan(chatCtx, toolNames, toolChoice) {
    const items = relevantItems(chatCtx);
    const last = items.at(-1);
    if (last && (last.type === 'function_call_output' || last.type === 'function_call')) {
      return { text: this.toolReply(items) };
    }
    if (last && last.type === 'message' && last.role === 'user') {
      return this.userReply((last.textContent ?? '').trim(), toolNames, toolChoice);
    }
    return { text: this.greeting };
  }

  toolReply(items) {
    const calls = new Map();
    const outputs = [];
    for (const it of [...items].reverse()) {
      if (it.type === 'message') break;
      if (it.type === 'function_call') calls.set(it.callId, it);
      else outputs.unshift(it);
    }
    const sentences = outputs.map((out) => {
      let args = {};
      try {
        args = JSON.parse(calls.get(out.callId)?.args || '{}');
      } catch {
        args = {};
      }
      // the framework JSON-encodes tool results ("\"$42.00\""): give the reply the plain text
      let output = out.output;
      try {
        const decoded = JSON.parse(output);
        if (typeof decoded === 'string') output = decoded;
      } catch {
        // not JSON: keep it as it is
      }
      const fn = this.toolReplies[out.name];
      if (fn) return fn(args, output, out.isError);
      return out.isError ? `Sorry, that didn't work: ${output}` : `Done: ${output}`;
    });
    return sentences.join(' ') || 'Done.';
  }

  userReply(text, toolNames, toolChoice) {
    for (const rule of this.rules) {
      const m = rule.regex.exec(text);
      if (!m) continue;
      if (rule.fail) return { fail: rule.fail };
      if (rule.call) {
        if (toolChoice === 'none' || !toolNames.has(rule.call)) return { text: this.unavailable };
        const args = typeof rule.args === 'function' ? rule.args(m, text) : (rule.args ?? {});
        callIds += 1;
        const call = llm.FunctionCall.create({
          callId: `call_scripted_${callIds}`,
          name: rule.call,
          args: JSON.stringify(args),
        });
        return { toolCall: call };
      }
      return { text: typeof rule.say === 'function' ? rule.say(m, text) : rule.say };
    }
    return { text: this.fallback };
  }
}

class ScriptedLLMStream extends llm.LLMStream {
  constructor(scripted, { chatCtx, toolCtx, connOptions, toolChoice }) {
    super(scripted, { chatCtx, toolCtx, connOptions });
    this.scripted = scripted;
    this.toolChoice = toolChoice;
  }

  async run() {
    const names = new Set(Object.keys(this.toolCtx?.functionTools ?? {}));
    const plan = this.scripted.plan(this.chatCtx, names, this.toolChoice);
    if (plan.fail) {
      throw new APIStatusError({
        message: plan.fail,
        options: { statusCode: 500, retryable: false },
      });
    }
    responseIds += 1;
    const id = `scripted-${responseIds}`;
    let completion;
    if (plan.toolCall) {
      this.queue.put({ id, delta: { role: 'assistant', toolCalls: [plan.toolCall] } });
      completion = 1 + plan.toolCall.args.split(/\s+/).length;
    } else {
      for (const chunk of splitChunks(plan.text)) {
        this.queue.put({ id, delta: { role: 'assistant', content: chunk } });
        await new Promise((resolve) => setImmediate(resolve)); // like a real stream
      }
      completion = plan.text.split(/\s+/).filter(Boolean).length;
    }
    const prompt = wordCount(this.chatCtx);
    this.queue.put({
      id,
      usage: {
        completionTokens: completion,
        promptTokens: prompt,
        promptCachedTokens: 0,
        totalTokens: completion + prompt,
      },
    });
  }
}
