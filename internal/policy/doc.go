// Package policy is Alibaba Cloud's RAM policy language: parsing a policy
// document ({"Version":"1","Statement":[…]}) into a checked, compiled form,
// and deciding whether a request (an action on a resource, in a context
// such as the source IP) is allowed by a set of documents.
//
// The decision follows RAM: a statement applies when its Action (or
// NotAction), Resource (or NotResource) and every Condition match; an
// applicable Deny wins over any Allow (an explicit deny); with no applicable
// Allow the request is denied (an implicit deny). Actions match without
// regard to case, resources with it; both take the wildcards * (any run of
// characters, none included) and ? (one character).
//
// ParseTrust and Trust.Evaluate do the same for a role's trust policy
// (who may assume the role: its Principal instead of a Resource).
//
// The package is pure: the standard library only, no I/O, no clock (the
// current time comes in the request). Its matcher and evaluator are checked
// against an independent oracle in a property test and fuzzed.
package policy
