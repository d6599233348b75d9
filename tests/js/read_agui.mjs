// Runs a selectools /agui endpoint with AG-UI's own client (@ag-ui/client's HttpAgent):
// it sends a RunAgentInput, parses the SSE events, verifies their order (verifyEvents: a
// message's content only between its start and end, one run start and one end, ...) and
// applies them to its messages.
//
//   node read_agui.mjs URL < request.json
//   request.json: {"threadId", "runId", "messages": [AG-UI messages], "token"?}
//
// Prints {"events": [...], "messages": [the agent's messages after the run],
// "newMessages": [...], "result": ..., "error": null | "why the client refused or the run
// failed"}.
import { HttpAgent } from "@ag-ui/client";

const url = process.argv[2];
let input = "";
for await (const piece of process.stdin) input += piece;
const request = JSON.parse(input);

const agent = new HttpAgent({
  url,
  headers: request.token ? { authorization: `Bearer ${request.token}` } : {},
  threadId: request.threadId,
  initialMessages: request.messages,
});
const events = [];
let outcome = { result: null, newMessages: [] };
let error = null;
try {
  outcome = await agent.runAgent(
    { runId: request.runId },
    {
      onEvent: ({ event }) => { events.push(event); },
      onRunErrorEvent: ({ event }) => { error = `RUN_ERROR: ${event.message}`; },
    },
  );
} catch (failure) {
  error = error ?? String(failure?.message ?? failure);
}
process.stdout.write(JSON.stringify({
  events, messages: agent.messages, newMessages: outcome.newMessages, result: outcome.result,
  error,
}));
