// Package clienttest drives a real esacert node with the real Alibaba Cloud
// clients from the registries: darabonba-openapi (the core of every official
// Go SDK, in both signature modes), alibaba-cloud-sdk-go (the core under the
// aliyun CLI) and, through Node.js, the official ESA SDK and pop-core. Its
// tests are the end-to-end proof that clients work against esacert with only
// their endpoint changed.
package clienttest
