// Command pulumi-resource-kubernetes is the Pulumi Kubernetes provider plugin, built from the
// provider's Go module. Upstream's main embeds a schema whose version a go:generate step fills
// in; scripts/ensure-kube-provider writes those two files next to this one before building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var schema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, schema, terraformMapping)
}
