package entropy

import "math"

// PredictedChange is the exact first-order entropy change of π = softmax(z/τ)
// under a logit change Δz (Cui et al., "The Entropy Mechanism of
// Reinforcement Learning for Reasoning Language Models", arXiv 2505.22617;
// spec §5.1):
//
//	ΔH ≈ Σ_v ∂H/∂z_v Δz_v = −Cov_{a~π}(log π_a, Δu_a),   Δu = Δz/τ
//	Cov_π(x, y) = Σ_a π_a x_a y_a − (Σ_a π_a x_a)(Σ_a π_a y_a)
//
// It is invariant to adding a constant to Δz and holds for any model when Δz
// is the measured change at that state; the residual is O(‖Δz‖²).
func PredictedChange(row, delta []float64, tau float64) float64 {
	zmax := rowMax(row)
	inv := 1 / tau
	s := 0.0
	for _, z := range row {
		s += math.Exp((z - zmax) * inv)
	}
	logS := math.Log(s)
	var exy, ex, ey float64
	for v, z := range row {
		lp := (z-zmax)*inv - logS
		p := math.Exp(lp)
		if p == 0 {
			continue
		}
		du := delta[v] * inv
		exy += p * lp * du
		ex += p * lp
		ey += p * du
	}
	return -(exy - ex*ey)
}

// ActualChange is H(softmax(after/τ)) − H(softmax(before/τ)).
func ActualChange(before, after []float64, tau float64) float64 {
	return TokenEntropy(after, tau) - TokenEntropy(before, tau)
}

// PGDelta writes the tabular vanilla policy-gradient logit step
// Δz_a = η · π_a · A_a (π = softmax(z)) into dst and returns it; with
// E_π[A] = 0 the predicted change is −η·Cov_π(log π, π·A). Rare actions with
// high advantage raise the entropy, likely ones lower it.
func PGDelta(dst, row, adv []float64, eta float64) []float64 {
	dst = dst[:len(row)]
	zmax := rowMax(row)
	s := 0.0
	for v, z := range row {
		e := math.Exp(z - zmax)
		dst[v] = e
		s += e
	}
	for v := range dst {
		dst[v] = eta * dst[v] / s * adv[v]
	}
	return dst
}

// NPGDelta writes the natural policy-gradient step Δz_a = η · A_a into dst
// and returns it.
func NPGDelta(dst, adv []float64, eta float64) []float64 {
	dst = dst[:len(adv)]
	for v, a := range adv {
		dst[v] = eta * a
	}
	return dst
}

// MechanismReport compares predicted and measured entropy changes over the
// valid positions of a probe batch (spec §5.3).
type MechanismReport struct {
	PredMean float64 // token-mean of pred_t = −Cov_{π_t}(log π_t, u'_t − u_t)
	ActMean  float64 // token-mean of act_t = H(u'_t) − H(u_t)
	Ratio    float64 // PredMean / ActMean (0 when ActMean is 0)
	Corr     float64 // Pearson correlation of pred_t with act_t (0 when either is constant)
	Tokens   float64 // valid positions
}

// Metrics returns entropy/predicted_delta, entropy/actual_delta and
// entropy/delta_corr, the names the trainer records and the plots read.
func (r MechanismReport) Metrics() map[string]float64 {
	return map[string]float64{
		"entropy/predicted_delta": r.PredMean,
		"entropy/actual_delta":    r.ActMean,
		"entropy/delta_corr":      r.Corr,
	}
}

// MeasureMechanism is the trainer-observer diagnostic of spec §5.3: given
// the raw logits of a probe batch before and after one solver step (the
// caller chunks over positions to bound memory), it writes pred_t and act_t
// into pred and act (0 at padding; allocated when nil or short) and returns
// their summary. It panics on shape mismatch.
func MeasureMechanism(pred, act [][]float64, before, after [][][]float64, mask [][]float64, tau float64) ([][]float64, [][]float64, MechanismReport) {
	checkLogits(before, mask)
	checkLogits(after, mask)
	pred = ensure2(pred, mask)
	act = ensure2(act, mask)
	var n, sp, sa, spp, saa, spa float64
	var delta []float64
	for b, row := range mask {
		for t, m := range row {
			if m == 0 {
				pred[b][t], act[b][t] = 0, 0
				continue
			}
			z0, z1 := before[b][t], after[b][t]
			if cap(delta) < len(z0) {
				delta = make([]float64, len(z0))
			}
			delta = delta[:len(z0)]
			for v := range z0 {
				delta[v] = z1[v] - z0[v]
			}
			p := PredictedChange(z0, delta, tau)
			a := ActualChange(z0, z1, tau)
			pred[b][t], act[b][t] = p, a
			n += m
			sp += p
			sa += a
			spp += p * p
			saa += a * a
			spa += p * a
		}
	}
	var r MechanismReport
	r.Tokens = n
	if n == 0 {
		return pred, act, r
	}
	r.PredMean, r.ActMean = sp/n, sa/n
	if r.ActMean != 0 {
		r.Ratio = r.PredMean / r.ActMean
	}
	vp := spp/n - r.PredMean*r.PredMean
	va := saa/n - r.ActMean*r.ActMean
	if vp > 0 && va > 0 {
		r.Corr = (spa/n - r.PredMean*r.ActMean) / math.Sqrt(vp*va)
	}
	return pred, act, r
}

// BatchProxy is the sample-only proxy Clip-Cov and KL-Cov rank tokens by
// (spec §5.4). Over valid tokens i, ℓ_i = log π(a_i):
//
//	c_i^npg = (ℓ_i − mean ℓ)·(A_i − mean A)
//	c_i^pg  = (ℓ_i − mean ℓ)·(π(a_i)A_i − mean π(a)A)
//	Ĉ       = mean_i c_i    (biased, 1/N)
//
// It writes c^npg and c^pg (0 at padding; allocated when nil or short) and
// returns both Ĉ. It is a cross-state proxy for monitoring and token
// selection, not a predicted ΔH.
func BatchProxy(npg, pg, logp, adv, mask [][]float64) (cNPG, cPG [][]float64, covNPG, covPG float64) {
	checkShape2("logp", logp, mask)
	checkShape2("adv", adv, mask)
	npg = ensure2(npg, mask)
	pg = ensure2(pg, mask)
	var n, ml, ma, mpa float64
	for b, row := range mask {
		for t, m := range row {
			if m != 0 {
				l, a := logp[b][t], adv[b][t]
				n++
				ml += l
				ma += a
				mpa += math.Exp(l) * a
			}
		}
	}
	if n > 0 {
		ml, ma, mpa = ml/n, ma/n, mpa/n
	}
	for b, row := range mask {
		for t, m := range row {
			if m == 0 {
				npg[b][t], pg[b][t] = 0, 0
				continue
			}
			l, a := logp[b][t], adv[b][t]
			npg[b][t] = (l - ml) * (a - ma)
			pg[b][t] = (l - ml) * (math.Exp(l)*a - mpa)
			covNPG += npg[b][t]
			covPG += pg[b][t]
		}
	}
	if n > 0 {
		covNPG, covPG = covNPG/n, covPG/n
	}
	return npg, pg, covNPG, covPG
}
