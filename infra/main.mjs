// The Pulumi program's entry (Pulumi.yaml `main`): the compiled program when it is current, else
// the TypeScript through tsx (bin/compiled.mjs decides). The stack outputs are index.ts's exports.
import { importSource } from "../bin/compiled.mjs";

const program = await importSource("infra/index.ts");

export default () => ({ ...program });
