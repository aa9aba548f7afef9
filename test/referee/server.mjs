// Starts local-aws-sqs, the independent SQS implementation the localaws
// conformance suite and benchmarks compare against, on a free loopback port
// and prints its URL on the first line of stdout.
import { createSqsServer } from "local-aws-sqs";

const server = await createSqsServer({
  port: 0,
  hostname: "127.0.0.1",
  accountId: "000000000000",
  emulateQueueCreationLifecycle: false,
});
const { port } = server.address();
console.log(`listening on http://127.0.0.1:${port}`);
const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
