// Reads one answer of a selectools /api/chat the way useChat does, with the `ai` package's
// own pieces: DefaultChatTransport sends useChat's request body and parses the SSE body
// with the SDK's uiMessageChunkSchema (an invalid chunk throws), and readUIMessageStream
// assembles the assistant message from the chunks.
//
//   node read_ui_stream.mjs URL < request.json
//   request.json: {"chatId": "...", "messages": [UI messages], "token": "..."?,
//                  "continue": true? (the last message is the assistant's, to continue)}
//
// Prints one JSON object: {"chunks": [...], "message": <the assembled UIMessage>,
// "errors": [the error texts readUIMessageStream reported]}; exits 1 with the reason on
// stderr when the SDK refuses the stream.
import { safeValidateTypes } from "@ai-sdk/provider-utils";
import { DefaultChatTransport, readUIMessageStream, uiMessageChunkSchema } from "ai";

const url = process.argv[2];
let input = "";
for await (const piece of process.stdin) input += piece;
const request = JSON.parse(input);

const transport = new DefaultChatTransport({
  api: url,
  headers: request.token ? { authorization: `Bearer ${request.token}` } : {},
});

try {
  const stream = await transport.sendMessages({
    chatId: request.chatId,
    messages: request.messages,
    trigger: "submit-message",
    messageId: undefined,
    abortSignal: undefined,
  });
  // Each chunk is validated again (so this test does not rest on that detail of the
  // transport) and copied as it passes, before readUIMessageStream sees it (the SDK
  // updates a data part in place, from the chunk that opened it).
  const chunks = [];
  const forMessage = stream.pipeThrough(new TransformStream({
    async transform(chunk, controller) {
      const checked = await safeValidateTypes({ value: chunk, schema: uiMessageChunkSchema });
      if (!checked.success) throw new Error(`invalid chunk ${JSON.stringify(chunk)}: ${checked.error}`);
      chunks.push(structuredClone(chunk));
      controller.enqueue(chunk);
    },
  }));
  const errors = [];
  let message = null;
  for await (const state of readUIMessageStream({
    // A request that answers tool approvals continues the last assistant message, as
    // useChat does when it resubmits.
    message: request.continue ? structuredClone(request.messages.at(-1)) : undefined,
    stream: forMessage,
    onError: (error) => errors.push(String(error?.message ?? error)),
  })) {
    message = state;
  }
  process.stdout.write(JSON.stringify({ chunks, message, errors }));
} catch (error) {
  process.stderr.write(`the SDK refused the stream: ${error?.stack ?? error}\n`);
  process.exit(1);
}
