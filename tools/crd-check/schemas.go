package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	envoygateway "github.com/envoyproxy/gateway"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"
)

// crdSchemas holds, per "group/version Kind", the compiled openAPIV3Schema of the Gateway API
// and Envoy Gateway CRDs that Envoy Gateway embeds in its Go module (envoygateway.GatewayCRDs,
// the CRDs of the release whose Go types this program also uses). Validating against them
// checks what the Go types cannot: enum values, required fields, patterns, bounds. Like the API
// server, unknown fields are refused unless the schema preserves them. The CEL rules
// (x-kubernetes-validations) are not evaluated.
type crdSchemas map[string]*jsonschema.Schema

func loadCRDSchemas() (crdSchemas, error) {
	schemas := crdSchemas{}
	reader := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(envoygateway.GatewayCRDs)))
	compiler := jsonschema.NewCompiler()
	for {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return schemas, nil
		}
		if err != nil {
			return nil, err
		}
		var crd struct {
			Kind string `json:"kind"`
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Versions []struct {
					Name   string `json:"name"`
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					} `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := sigsyaml.Unmarshal(raw, &crd); err != nil {
			return nil, err
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, v := range crd.Spec.Versions {
			key := crd.Spec.Group + "/" + v.Name + " " + crd.Spec.Names.Kind
			url := "crd:///" + strings.ReplaceAll(key, " ", "/")
			if err := compiler.AddResource(url, toJSONSchema(v.Schema.OpenAPIV3Schema, true)); err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			schema, err := compiler.Compile(url)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", key, err)
			}
			schemas[key] = schema
		}
	}
}

// validate checks a whole object (apiVersion, kind, metadata, spec) against its CRD's schema.
// ok is false when no CRD schema is known for the kind.
func (s crdSchemas) validate(key string, doc []byte) (ok bool, err error) {
	schema, found := s[key]
	if !found {
		return false, nil
	}
	var value any
	if err := sigsyaml.Unmarshal(doc, &value); err != nil {
		return true, err
	}
	return true, schema.Validate(value)
}

// toJSONSchema turns a Kubernetes structural OpenAPI v3 schema into a JSON Schema with the
// API server's semantics: objects with properties refuse others unless
// x-kubernetes-preserve-unknown-fields is set; x-kubernetes-int-or-string accepts both;
// nullable adds null. The root's metadata is left to the API server (only its shape).
func toJSONSchema(node map[string]any, root bool) map[string]any {
	out := map[string]any{}
	for k, v := range node {
		switch k {
		case "properties", "patternProperties":
			props := map[string]any{}
			for name, p := range v.(map[string]any) {
				props[name] = toJSONSchema(p.(map[string]any), false)
			}
			out[k] = props
		case "items", "additionalProperties", "not":
			if m, isMap := v.(map[string]any); isMap {
				out[k] = toJSONSchema(m, false)
			} else {
				out[k] = v
			}
		case "allOf", "anyOf", "oneOf":
			var list []any
			for _, p := range v.([]any) {
				list = append(list, toJSONSchema(p.(map[string]any), false))
			}
			out[k] = list
		case "nullable", "x-kubernetes-int-or-string", "x-kubernetes-preserve-unknown-fields":
			// handled below
		default:
			if strings.HasPrefix(k, "x-kubernetes-") || k == "format" {
				continue // CEL rules, list/map semantics, formats: not checked here
			}
			out[k] = v
		}
	}
	if node["x-kubernetes-int-or-string"] == true {
		delete(out, "type")
		out["anyOf"] = []any{map[string]any{"type": "integer"}, map[string]any{"type": "string"}}
	}
	if node["nullable"] == true {
		if t, isString := out["type"].(string); isString {
			out["type"] = []any{t, "null"}
		}
	}
	_, hasProperties := out["properties"]
	_, hasAdditional := out["additionalProperties"]
	if hasProperties && !hasAdditional && node["x-kubernetes-preserve-unknown-fields"] != true {
		out["additionalProperties"] = false
	}
	if root {
		if props, isMap := out["properties"].(map[string]any); isMap {
			props["metadata"] = map[string]any{"type": "object"}
		}
	}
	return out
}
