// Package docs is the merchant documentation: the Markdown guides in this
// folder, readable as they are in the repository, and the site the gateway
// serves at /docs from them (HTML rendered once, with no CDN, no script and
// no font from elsewhere), the API reference generated from the OpenAPI
// document and an error reference every problem's type resolves to.
package docs

import "embed"

// files holds the guides and their images; site/ holds the page layout and
// the stylesheet.
//
//go:embed *.md *.png site
var files embed.FS
