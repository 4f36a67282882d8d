// Package openapi embeds the OpenAPI 3.1 document that describes the public
// API; a test keeps it and the mounted routes in step.
package openapi

import _ "embed"

// Document is the OpenAPI document served at /openapi.json.
//
//go:embed openapi.json
var Document []byte
