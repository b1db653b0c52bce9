// kwok runs this for each connection of a `kubectl port-forward` to an SIE pod's port (the pod's
// kwok PortForward object names it: cluster/endpoints/kubeletObjects.ts). Its stdin and stdout are
// the forwarded stream, and kwok tells it nothing about the pod, so the pod's address is an
// argument. It reaches the pod the way the API server does, with CONNECT <ip>:<port> on the
// cluster's egress socket (cluster/endpoints/egress.ts), and pipes the stream both ways. A refused
// CONNECT (pod gone, not running, port not declared) exits 1 with the reason on stderr.
//
//   node egressDial.mjs <egress socket> <pod ip>:<port>
//
// Plain JavaScript, no imports beyond Node: it starts once per connection.
import * as net from "node:net";

const [socketPath, target] = process.argv.slice(2);
if (!socketPath || !target) {
  process.stderr.write("usage: node egressDial.mjs <egress socket> <pod ip>:<port>\n");
  process.exit(2);
}

const fail = (message) => {
  process.stderr.write(`egressDial ${target}: ${message}\n`);
  process.exit(1);
};

const upstream = net.connect(socketPath);
upstream.on("error", (err) => fail(err.message));
upstream.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n\r\n`);

let head = Buffer.alloc(0);
const onData = (chunk) => {
  head = Buffer.concat([head, chunk]);
  const end = head.indexOf("\r\n\r\n");
  if (end < 0) {
    if (head.length > 16 * 1024) fail("no answer to CONNECT");
    return;
  }
  upstream.off("data", onData);
  const status = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/m.exec(head.subarray(0, end).toString("latin1"));
  if (status?.[1] !== "200") fail(`CONNECT refused: ${status ? `${status[1]} ${status[2]}` : "no status line"}`);
  const rest = head.subarray(end + 4);
  if (rest.length > 0) process.stdout.write(rest);
  upstream.pipe(process.stdout);
  process.stdin.pipe(upstream);
  // The pod closed: nothing more will come. Exiting ends kwok's copy of our stdout.
  upstream.on("close", () => process.exit(0));
};
upstream.on("data", onData);
