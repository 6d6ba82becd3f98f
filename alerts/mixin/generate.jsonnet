// The files the repository ships, by path from its root, as
// alerts/mixin/mixin.go writes them (`go run ./alerts/gen`).
(import 'generate.libsonnet')(import 'mixin.libsonnet')
