// The Node demo agent as plain ESM JavaScript (runs on Node >= 20 with no build step):
//   node agent.mjs console --connect-addr 127.0.0.1:PORT
// See demo.mjs for the agents and their scripted model.
import { ServerOptions, cli, defineAgent } from '@livekit/agents';
import { fileURLToPath } from 'node:url';
import { entry } from './demo.mjs';

export default defineAgent({ entry });

cli.runApp(new ServerOptions({ agent: fileURLToPath(import.meta.url) }));
