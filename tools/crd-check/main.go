// Command crd-check strictly decodes the Istio, Envoy Gateway and Gateway API resources that
// perishable ships (deploy/istio, deploy/envoy-gateway) into those projects' own Go API types,
// so a misspelt or misplaced field or a wrong type is an error, as it would be for the API
// server with strict field validation. Istio's enums are checked too (protojson refuses an
// unknown name). Envoy Gateway and Gateway API resources are also validated against their CRDs'
// OpenAPI schemas, which Envoy Gateway's module embeds (enums, required fields, patterns,
// bounds); their CEL rules (x-kubernetes-validations) are NOT evaluated.
//
// Resources of Kubernetes' built-in API groups are skipped (kubeconform checks them); any other
// kind it has no Go type for is an error.
//
//	crd-check FILE...   ("-" reads standard input)
//
// Prints one line per resource and a summary ("N checked, N skipped, N failed"); exits 1 if any
// resource fails, 2 on a usage error.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	egv1a1 "github.com/envoyproxy/gateway/api/v1alpha1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	networkingv1 "istio.io/api/networking/v1"
	networkingv1alpha3 "istio.io/api/networking/v1alpha3"
	securityv1 "istio.io/api/security/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	gwv1 "sigs.k8s.io/gateway-api/apis/v1"
	sigsyaml "sigs.k8s.io/yaml"
)

// Istio's CRDs carry their spec as a protobuf message: decode it with protojson, which rejects
// unknown fields and bad enum names.
var istioSpecs = map[string]func() proto.Message{
	"security.istio.io/v1 AuthorizationPolicy": func() proto.Message { return &securityv1.AuthorizationPolicy{} },
	"networking.istio.io/v1 ServiceEntry":      func() proto.Message { return &networkingv1.ServiceEntry{} },
	"networking.istio.io/v1 Gateway":           func() proto.Message { return &networkingv1.Gateway{} },
	"networking.istio.io/v1 VirtualService":    func() proto.Message { return &networkingv1.VirtualService{} },
	"networking.istio.io/v1 DestinationRule":   func() proto.Message { return &networkingv1.DestinationRule{} },
	"networking.istio.io/v1alpha3 EnvoyFilter": func() proto.Message { return &networkingv1alpha3.EnvoyFilter{} },
}

// Envoy Gateway and Gateway API resources are Go structs with JSON tags: decode the whole
// object with unknown fields refused.
var structKinds = map[string]func() any{
	"gateway.envoyproxy.io/v1alpha1 SecurityPolicy":  func() any { return &egv1a1.SecurityPolicy{} },
	"gateway.envoyproxy.io/v1alpha1 Backend":         func() any { return &egv1a1.Backend{} },
	"gateway.envoyproxy.io/v1alpha1 EnvoyProxy":      func() any { return &egv1a1.EnvoyProxy{} },
	"gateway.envoyproxy.io/v1alpha1 HTTPRouteFilter": func() any { return &egv1a1.HTTPRouteFilter{} },
	"gateway.envoyproxy.io/v1alpha1 EnvoyExtensionPolicy": func() any {
		return &egv1a1.EnvoyExtensionPolicy{}
	},
	"gateway.envoyproxy.io/v1alpha1 BackendTrafficPolicy": func() any {
		return &egv1a1.BackendTrafficPolicy{}
	},
	"gateway.envoyproxy.io/v1alpha1 ClientTrafficPolicy": func() any {
		return &egv1a1.ClientTrafficPolicy{}
	},
	"gateway.networking.k8s.io/v1 Gateway":      func() any { return &gwv1.Gateway{} },
	"gateway.networking.k8s.io/v1 GatewayClass": func() any { return &gwv1.GatewayClass{} },
	"gateway.networking.k8s.io/v1 HTTPRoute":    func() any { return &gwv1.HTTPRoute{} },
}

// schemas are the CRD schemas of the Envoy Gateway and Gateway API kinds (schemas.go).
var schemas crdSchemas

type object struct {
	APIVersion string         `json:"apiVersion"`
	Kind       string         `json:"kind"`
	Metadata   map[string]any `json:"metadata"`
	Spec       map[string]any `json:"spec"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: crd-check FILE...")
		os.Exit(2)
	}
	var err error
	if schemas, err = loadCRDSchemas(); err != nil {
		fmt.Fprintln(os.Stderr, "crd-check: cannot load the embedded CRD schemas:", err)
		os.Exit(2)
	}
	failed, checked, skipped := 0, 0, 0
	for _, file := range os.Args[1:] {
		docs, err := documents(file)
		if err != nil {
			fmt.Printf("FAILED  %s: %v\n", file, err)
			failed++
			continue
		}
		for i, doc := range docs {
			name, err := check(doc)
			if errors.Is(err, errBuiltIn) {
				skipped++
				fmt.Printf("skipped %s #%d %s (a Kubernetes kind)\n", file, i+1, name)
				continue
			}
			checked++
			if err != nil {
				fmt.Printf("FAILED  %s #%d %s: %v\n", file, i+1, name, err)
				failed++
			} else {
				fmt.Printf("ok      %s #%d %s\n", file, i+1, name)
			}
		}
	}
	fmt.Printf("%d checked, %d skipped, %d failed\n", checked, skipped, failed)
	if failed > 0 {
		os.Exit(1)
	}
}

// documents splits a multi-document YAML file into JSON documents, skipping empty ones.
func documents(file string) ([][]byte, error) {
	var data []byte
	var err error
	if file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(file)
	}
	if err != nil {
		return nil, err
	}
	reader := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var docs [][]byte
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		// Duplicate keys are an error, as with kubeconform -strict.
		doc, err := sigsyaml.YAMLToJSONStrict(raw)
		if err != nil {
			return nil, err
		}
		if string(bytes.TrimSpace(doc)) == "null" { // empty, or comments only
			continue
		}
		docs = append(docs, doc)
	}
}

func check(doc []byte) (string, error) {
	var obj object
	if err := sigsyaml.Unmarshal(doc, &obj); err != nil {
		return "?", err
	}
	key := obj.APIVersion + " " + obj.Kind
	name := fmt.Sprintf("%s %v", key, obj.Metadata["name"])
	if obj.Metadata["name"] == nil {
		return name, errors.New("metadata.name is missing")
	}
	if newSpec, ok := istioSpecs[key]; ok {
		return name, checkIstio(doc, newSpec())
	}
	if newObject, ok := structKinds[key]; ok {
		if err := sigsyaml.UnmarshalStrict(doc, newObject()); err != nil {
			return name, err
		}
		found, err := schemas.validate(key, doc)
		if !found {
			return name, fmt.Errorf("no CRD schema for %s in Envoy Gateway's embedded CRDs", key)
		}
		return name, err
	}
	if key == "install.istio.io/v1alpha1 IstioOperator" {
		return name, checkIstioOperator(doc)
	}
	if builtIn(obj.APIVersion) {
		return name, errBuiltIn
	}
	return name, fmt.Errorf("no Go type known for %s (add it to crd-check)", key)
}

var errBuiltIn = errors.New("a built-in Kubernetes kind")

// builtIn reports whether apiVersion belongs to Kubernetes itself: the core group ("v1"), a
// group without a dot ("apps/v1") or a *.k8s.io group other than the Gateway API's.
func builtIn(apiVersion string) bool {
	group, _, found := strings.Cut(apiVersion, "/")
	if !found {
		return true
	}
	if !strings.Contains(group, ".") {
		return true
	}
	return strings.HasSuffix(group, ".k8s.io") && group != "gateway.networking.k8s.io"
}

// checkIstio accepts exactly apiVersion, kind, metadata and spec, and a spec that decodes into
// the Istio message.
func checkIstio(doc []byte, spec proto.Message) error {
	var top map[string]any
	if err := sigsyaml.Unmarshal(doc, &top); err != nil {
		return err
	}
	for field := range top {
		switch field {
		case "apiVersion", "kind", "metadata", "spec":
		default:
			return fmt.Errorf("unknown top-level field %q", field)
		}
	}
	specJSON, err := sigsyaml.Marshal(top["spec"])
	if err != nil {
		return err
	}
	specJSON, err = sigsyaml.YAMLToJSON(specJSON)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(specJSON, spec)
}

// checkIstioOperator checks the one part of an IstioOperator that perishable ships:
// spec.meshConfig, decoded into Istio's MeshConfig message. Any other spec field is refused,
// since nothing here could check it.
func checkIstioOperator(doc []byte) error {
	var top struct {
		Spec map[string]any `json:"spec"`
	}
	if err := sigsyaml.Unmarshal(doc, &top); err != nil {
		return err
	}
	for field := range top.Spec {
		if field != "meshConfig" {
			return fmt.Errorf("spec.%s: only spec.meshConfig is checked; ship other settings apart", field)
		}
	}
	meshJSON, err := sigsyaml.Marshal(top.Spec["meshConfig"])
	if err != nil {
		return err
	}
	meshJSON, err = sigsyaml.YAMLToJSON(meshJSON)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(meshJSON, &meshv1alpha1.MeshConfig{})
}
