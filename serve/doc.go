// Package serve is entrolab's live view: a small read-only HTTP server
// (standard library only) over a runs root, for watching runs in a browser.
//
// Pages:
//
//	/                  every run under the root: method, task, seed, status,
//	                   steps, last reward / entropy / accuracy (polled, so new
//	                   runs appear without a reload); pick runs or a sweep to compare
//	/run?id=ID         one run: the plot package's figures (SVG), redrawn as
//	                   metrics.jsonl grows; the resolved config; the run's files
//	/compare?id=A&id=B the runs overlaid, seeds of one configuration as a mean
//	/compare?sweep=DIR with a 95% CI band (the grouping `entrolab plot` uses),
//	                   and the summary statistics per group
//	/samples?id=ID     the logged completions with each token coloured by its
//	                   entropy (hover: token, probability, entropy, advantage),
//	                   correct / wrong and step filters, and the tokens most
//	                   often in the top 20% of their step's token entropies
//
// A run is a directory under the root holding metrics.jsonl or config.yaml;
// its ID is its slash-separated path relative to the root. Every path comes
// from the root: IDs are checked with fs.ValidPath, each directory on the way
// must be a real directory (no symlinks), and files are opened through an
// os.Root, so neither ".." nor a symlink leads out of it. Files are read
// whole and only up to their last newline, so a line being written is never
// parsed; a run deleted while its page is open answers 404 ("gone") and the
// page says so. Parsed metrics are cached by size and modification time.
//
// Feeds on: the files trainer writes (metrics.jsonl, samples.jsonl,
// config.yaml, status.json) and plots (parsing, grouping, figures, summaries).
// Consumed by: cmd/entrolab (serve, train --serve).
package serve
