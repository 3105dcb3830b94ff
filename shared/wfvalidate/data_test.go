package wfvalidate

import "testing"

func TestDataTemplates(t *testing.T) {
	runWorkflowCases(t, []wfCase{
		{name: "Argo's data-transformations example", spec: `
entrypoint: list
templates:
- name: list
  data:
    source:
      artifactPaths: {name: test-bucket, s3: {bucket: my-bucket}}
    transformation:
    - expression: 'filter(data, {# endsWith "main.log"})'
    - expression: 'map(data, {# + ".ready"})'
`},
		{name: "no source", spec: `
entrypoint: list
templates:
- name: list
  data:
    source: {}
    transformation: [{expression: 'filter(data, {# endsWith "x"})'}]
`, faults: []want{{"spec.templates[0].data.source.artifactPaths", "required: template list lists the keys under an artifact location"}}},
		{name: "source not s3", spec: `
entrypoint: list
templates:
- name: list
  data:
    source: {artifactPaths: {name: x, http: {url: "https://example.com/x"}}}
`, faults: []want{{"spec.templates[0].data.source.artifactPaths", "template list: only s3 locations can be listed"}}},
		{name: "bad expressions", spec: `
entrypoint: list
templates:
- name: list
  data:
    source: {artifactPaths: {name: x, s3: {key: logs}}}
    transformation:
    - expression: 'filter(data, {# endsWith })'
    - expression: 'filter(dat, {# endsWith "x"})'
    - expression: ''
`, faults: []want{
			{"spec.templates[0].data.transformation[0].expression", "template list: unexpected token"},
			{"spec.templates[0].data.transformation[1].expression", `template list: unknown variable "dat"`},
			{"spec.templates[0].data.transformation[2].expression", "required: template list: give an expr-lang expression over data"},
		}},
	})
}
