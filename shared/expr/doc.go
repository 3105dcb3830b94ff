// Package expr owns the expression languages of Argo Workflows, with Argo's
// exact semantics and no Kubernetes dependencies:
//
//   - Replace substitutes `{{...}}` tags in a template string: simple tags
//     `{{inputs.parameters.x}}` by name, expression tags `{{=expr}}` by
//     evaluating expr-lang (github.com/expr-lang/expr) against the variables,
//     as Argo's util/template does. Tags and ValidateSyntax inspect a template
//     without substituting.
//   - Eval and EvalBool evaluate an expr-lang expression (valueFrom.expression,
//     retryStrategy.expression, lifecycle hook expressions, ...) with the same
//     environment: dotted variable names become nested maps and Argo's
//     functions are available (sprig.*, asInt, asFloat, jsonpath, toJson and
//     expr-lang's builtins).
//   - When evaluates a step or task `when` condition, after substitution, with
//     github.com/Knetic/govaluate as Argo's controller does: bare words are
//     strings, so `tails == heads` is a string comparison.
//   - ParseDepends parses a DAG task's `depends` expression (`A && (B.Failed ||
//     !C.Succeeded)`) and evaluates it against the states of the tasks it names,
//     as Argo's dag.go does; DependenciesToDepends converts the legacy
//     `dependencies` list.
//
// Nothing here touches the API types: callers pass plain strings, maps and
// TaskStates, so the workflow controller, the validator and the plugin can all
// use it.
package expr
