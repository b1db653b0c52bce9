#!/usr/bin/env node
// Helm post-renderer for the sie-cluster release: drops `spec.replicas` from the worker
// StatefulSets before Helm applies them.
//
// Why: the chart renders `replicas: <pool minReplicas>`, and Helm 3 upgrades with a three-way
// merge whose patch carries every field where the live object differs from the new manifest. A
// pool KEDA (or a person) scaled to 3 would be patched back to minReplicas by any upgrade, tag
// bump or revert, deleting workers mid-traffic. Without the field in any manifest Helm never
// touches it; the Pulumi program seeds a new pool's count once (a StatefulSetPatch) and KEDA owns
// it from then on.
//
// Reads the rendered manifests on stdin, writes them to stdout; anything unparseable fails the
// render (Helm shows stderr) rather than being passed through half-changed.
import { readFileSync } from "node:fs";
import yaml from "js-yaml";

const docs = yaml.loadAll(readFileSync(0, "utf8"));
const out = [];
for (const doc of docs) {
  if (doc === null || doc === undefined) continue;
  const component = doc.metadata?.labels?.["app.kubernetes.io/component"];
  if (doc.kind === "StatefulSet" && component === "worker" && doc.spec) delete doc.spec.replicas;
  out.push(yaml.dump(doc, { lineWidth: -1, noRefs: true }));
}
process.stdout.write(out.map((d) => `---\n${d}`).join(""));
