-- When an open ticket comes at risk of missing an SLA target (issue 19,
-- "Managers see the desk"): the instant its nearest running clock reaches
-- the policy's first warning step, or an hour before its deadline when the
-- ladder has none (sla.Policy.RiskAt); NULL while no clock runs towards a
-- deadline (no target, stopped, resolved or closed, waiting on the
-- customer). /metrics counts the open tickets at risk and breached at
-- scrape time from the rows whose risk_at has come, through the index
-- below, so a scrape costs the tickets at risk, not every open one.
ALTER TABLE tickets ADD COLUMN risk_at TEXT;
-- Rows written before: the nearest running deadline, which SQL can find
-- without the policy's calendar. Such a ticket counts as breached from
-- the start and as at risk from the SLA loop's next check of it, which
-- comes at its first warning step at the latest (the desk writes risk_at
-- at every check and every change of the ticket).
UPDATE tickets SET risk_at = CASE
        WHEN first_response_at IS NULL AND response_due IS NOT NULL
             AND (resolution_due IS NULL OR response_due < resolution_due) THEN response_due
        ELSE resolution_due END
    WHERE status IN ('open', 'pending');
CREATE INDEX tickets_risk ON tickets (risk_at) WHERE risk_at IS NOT NULL;
