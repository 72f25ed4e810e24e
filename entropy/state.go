package entropy

import "encoding/json"

// A controller's saved state goes through one pair, SaveState/LoadState,
// whatever its concrete type: the JSON of its State struct.

func saveState[S any](s S) (json.RawMessage, error) { return json.Marshal(s) }

// loadState decodes b into an S and hands it to set; empty b leaves the
// state as it is.
func loadState[S any](b json.RawMessage, set func(S)) error {
	if len(b) == 0 {
		return nil
	}
	var s S
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	set(s)
	return nil
}

// SaveState is State as JSON, for checkpoints.
func (a *AdaptiveCoef) SaveState() (json.RawMessage, error) { return saveState(a.State()) }

// LoadState restores what SaveState wrote.
func (a *AdaptiveCoef) LoadState(b json.RawMessage) error { return loadState(b, a.SetState) }

// SaveState is State as JSON, for checkpoints.
func (a *AEntCoef) SaveState() (json.RawMessage, error) { return saveState(a.State()) }

// LoadState restores what SaveState wrote.
func (a *AEntCoef) LoadState(b json.RawMessage) error { return loadState(b, a.SetState) }

// SaveState is State as JSON, for checkpoints.
func (a *AdaptiveTemperature) SaveState() (json.RawMessage, error) { return saveState(a.State()) }

// LoadState restores what SaveState wrote.
func (a *AdaptiveTemperature) LoadState(b json.RawMessage) error { return loadState(b, a.SetState) }

// SaveState is State as JSON, for checkpoints.
func (a *AEPO) SaveState() (json.RawMessage, error) { return saveState(a.State()) }

// LoadState restores what SaveState wrote.
func (a *AEPO) LoadState(b json.RawMessage) error { return loadState(b, a.SetState) }
