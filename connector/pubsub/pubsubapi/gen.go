// Package pubsubapi is the generated Go code of the Salesforce Pub/Sub API
// (package eventbus.v1, pubsub_api.proto beside this file): the messages, the
// PubSubClient the daemon subscribes with and the PubSubServer sfsim serves.
//
// The generated files are committed. Regenerate them, after editing the
// .proto, with Debian's protobuf-compiler (libprotoc 3.21.12) and the
// plugins at these versions on PATH:
//
//	go install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
//	go install google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.0
//	go generate ./connector/pubsub/pubsubapi
package pubsubapi

//go:generate protoc --proto_path=. --go_out=. --go_opt=paths=source_relative --go-grpc_out=. --go-grpc_opt=paths=source_relative pubsub_api.proto
