package helpdesk

import _ "embed" // config.example.toml below

// ExampleConfig is the text of config.example.toml: every key commented,
// with the five support policies of ../shared/policies as configuration.
// The demo runs on it, so what a newcomer watches is what the example
// promises; the config package's tests load the same file from disk.
//
//go:embed config.example.toml
var ExampleConfig string
