// The house rules for imports, checked by the static lane (`npx depcruise core infra cluster automation`):
// no import circle (type-only imports count: they tie files together just the same), and every
// folder imports only folders listed before it. Tests, benchmarks and scripts may import anything.
const LAYERS = [
  ["core", "^core/"],
  // infra/: the hardware tables, the config's shape, what it renders, then the rules that check
  // a config against all of those, then the program.
  ["infra/hardware", "^infra/hardware/"],
  ["infra/config (shape)", "^infra/config/(configKeys|configReport|configSchema|configTypes)\\.ts$"],
  ["infra/release", "^infra/release/"],
  ["infra/platforms", "^infra/platforms/"],
  ["infra/config (rules)", "^infra/config/(?!(configKeys|configReport|configSchema|configTypes)\\.ts$)"],
  ["infra (program)", "^infra/[^/]+$"],
  ["cluster", "^cluster/"],
  ["events", "^automation/events/"],
  ["engine", "^automation/engine/"],
  ["kube", "^automation/kube/"],
  ["journal", "^automation/journal/"],
  ["locks", "^automation/locks/"],
  ["plan", "^automation/plan/"],
  ["verify", "^automation/verify/"],
  ["actions", "^automation/actions/"],
  ["cli", "^automation/cli/"],
];

const upward = LAYERS.map(([name, from], i) => ({
  name: `layer-${name}`,
  comment: `${name} imports only layers below it (${
    LAYERS.slice(0, i)
      .map(([n]) => n)
      .join(", ") || "none"
  })`,
  severity: "error",
  from: { path: from },
  to: { path: LAYERS.slice(i + 1).map(([, p]) => p) },
})).filter((r) => r.to.path.length > 0);

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "a circle makes every file in it depend on all the others; move the shared part below them",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    ...upward,
    {
      name: "pulumi-automation-only-in-engine",
      comment: "automation/engine is the only importer of the Pulumi SDK outside the program (infra/)",
      severity: "error",
      from: { path: "^(core|cluster|automation)/", pathNot: "^automation/engine/" },
      to: { path: "node_modules/@pulumi/" },
    },
    {
      name: "no-unresolvable",
      comment: "an import that resolves to nothing",
      severity: "error",
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(dist|test|bench)/" },
    enhancedResolveOptions: {
      exportsFields: ["exports"],
      conditionNames: ["import", "require", "node", "default", "types"],
      mainFields: ["module", "main", "types"],
    },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    combinedDependencies: false,
  },
};
