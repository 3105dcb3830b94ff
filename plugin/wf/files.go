package wf

import (
	"io"

	"github.com/argolite/argolite/plugin/cli"
)

// ReadDocuments reads and decodes the documents of the files named by paths
// (directories and stdin too, see cli.ReadSources): those that decoded, and the
// messages of those that did not. The error is one of reading.
func ReadDocuments(paths []string, stdin io.Reader) ([]Document, []string, error) {
	srcs, err := cli.ReadSources(paths, stdin)
	if err != nil {
		return nil, nil, err
	}
	docs, problems := decodeSources(srcs)
	return docs, problems, nil
}

// decodeSources decodes every document of srcs. It returns the documents
// that decoded and the messages of those that did not.
func decodeSources(srcs []cli.Source) ([]Document, []string) {
	var docs []Document
	var errs []string
	for _, src := range srcs {
		d, err := DecodeFile(src.Name, src.Data)
		docs = append(docs, d...)
		errs = append(errs, inFile(src.Name, ErrorMessages(err))...)
	}
	return docs, errs
}
