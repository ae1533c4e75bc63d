package main

import (
	"context"
	"sort"

	"github.com/helpdeskd/helpdesk/ops"
)

// watchSLA feeds the gauges of open tickets at risk and breached
// (ops.Metrics.WatchSLA) from the store at the daemon's clock, with every
// policy and level of the configuration exported from the start.
func (m *Main) watchSLA() {
	st, now := m.Store, m.Now
	count := func(ctx context.Context) ([]ops.SLACount, error) {
		cs, err := st.SLAOpenCounts(ctx, now())
		if err != nil {
			return nil, err
		}
		out := make([]ops.SLACount, len(cs))
		for i, c := range cs {
			out[i] = ops.SLACount{Policy: c.Policy, Priority: string(c.Priority), AtRisk: c.AtRisk, Breached: c.Breached}
		}
		return out, nil
	}
	var preset []ops.SLACount
	levels := metricLabels(m.Config).Priorities
	for name := range m.Config.Policies {
		for _, p := range levels {
			preset = append(preset, ops.SLACount{Policy: name, Priority: p})
		}
	}
	sort.Slice(preset, func(i, j int) bool {
		if preset[i].Policy != preset[j].Policy {
			return preset[i].Policy < preset[j].Policy
		}
		return preset[i].Priority < preset[j].Priority
	})
	m.Metrics.WatchSLA(count, preset)
}
