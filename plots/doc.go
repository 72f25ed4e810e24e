// Package plots turns recorded metrics into figures and sweep summaries.
//
// It reads a run directory written by the trainer — metrics.jsonl, one JSON
// object per line in verl's file-logger format
//
//	{"step": 12, "data": {"actor/entropy": 1.23, "critic/score/mean": 0.4}}
//
// and, when present, config.yaml (only its top-level name: and seed:) — and
// never talks to a live trainer; the trainer never imports this package. The
// consumers are the command line (entrolab plot / report) and people looking
// at a sweep.
//
// What it offers:
//
//   - [ReadRun] / [ReadMetrics]: metrics.jsonl -> [Run], one [Series]
//     (step -> value) per metric key. Non-finite values (JSON null, the
//     strings "NaN"/"Infinity"/"-Infinity", and the bare NaN/Infinity tokens
//     Python's json.dumps writes) are kept as NaN/±Inf points so plots can
//     show gaps; unparseable lines (a torn last line included) are skipped and
//     counted in [Run.Skipped], never failing the file.
//   - [GroupRuns] and [AggregateCI]: seeds of one configuration are drawn as
//     their mean with a filled 95% bootstrap confidence band (whole runs
//     resampled, seeded: [BandSeed]), lines on top.
//   - [Smooth]: trailing rolling means that remember their window (stated
//     under every figure) and the measured values (used by fits and scatters).
//   - [FitEntropyReward]: the R = −a·exp(H) + b fit of Cui et al. (2025),
//     and [Pearson].
//   - [WriteAll] / [RenderFigure]: the figures listed in [FigureNames]
//     (entropy, reward, entropy_vs_reward, entropy_delta, clipfrac,
//     response_length, controllers, pass_at_k), PNG by default, SVG or PDF on
//     request, each written atomically (rendered to memory, temp file, rename).
//   - [Summarize], [WriteSummaryMarkdown], [WriteSummaryCSV] and
//     [WriteReportHTML] (one self-contained page, figures as data URIs, each
//     run's config, commit and date: [Report], [ReportRuns]).
//
// Axis labels are the metric table's words with units (metric.Axis: "entropy
// (nats / token)"), never raw keys; legends and captions sit below each plot,
// never over data; each series keeps one colour in every figure of a set of
// runs (keyed by its name). NaN and ±Inf leave gaps (gonum/plot would draw
// them as broken paths); no axis uses gonum's log scale (it panics on
// values <= 0): pass@k's k axis is log₂ k drawn on a linear axis.
//
// No shape letters: everything here is indexed by optimizer step.
package plots
