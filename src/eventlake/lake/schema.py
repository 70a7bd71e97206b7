"""Every table eventlake writes, declared once: columns (DuckDB types), partition
columns and a description. Sources append to these tables; insights read them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TableDef:
    name: str
    columns: tuple[tuple[str, str], ...]
    partition_by: tuple[str, ...] = ()
    description: str = ""
    retention_column: str | None = None  # date column that `lake retain` ages out on

    @property
    def column_names(self) -> list[str]:
        return [c for c, _ in self.columns]

    def ddl(self, schema: str = "lake") -> str:
        cols = ",\n  ".join(f'"{c}" {t}' for c, t in self.columns)
        return f'CREATE TABLE IF NOT EXISTS {schema}."{self.name}" (\n  {cols}\n)'


CLOUDTRAIL_EVENTS = TableDef(
    name="cloudtrail_events",
    description="AWS CloudTrail events, one row per event (deduplicated on event_id), partitioned by event date (UTC).",
    partition_by=("event_date",),
    retention_column="event_date",
    columns=(
        ("event_id", "VARCHAR"),
        ("event_time", "TIMESTAMPTZ"),
        ("event_date", "DATE"),
        ("event_version", "VARCHAR"),
        ("event_source", "VARCHAR"),
        ("event_name", "VARCHAR"),
        ("aws_region", "VARCHAR"),
        ("recipient_account_id", "VARCHAR"),
        ("user_type", "VARCHAR"),
        ("user_name", "VARCHAR"),
        ("principal_id", "VARCHAR"),
        ("principal_arn", "VARCHAR"),
        ("account_id", "VARCHAR"),
        ("access_key_id", "VARCHAR"),
        ("session_issuer_type", "VARCHAR"),
        ("session_issuer_arn", "VARCHAR"),
        ("session_issuer_user_name", "VARCHAR"),
        ("session_mfa_authenticated", "BOOLEAN"),
        ("invoked_by", "VARCHAR"),
        ("source_ip_address", "VARCHAR"),
        ("user_agent", "VARCHAR"),
        ("error_code", "VARCHAR"),
        ("error_message", "VARCHAR"),
        ("read_only", "BOOLEAN"),
        ("management_event", "BOOLEAN"),
        ("event_type", "VARCHAR"),
        ("event_category", "VARCHAR"),
        ("request_id", "VARCHAR"),
        ("shared_event_id", "VARCHAR"),
        ("vpc_endpoint_id", "VARCHAR"),
        ("user_identity", "JSON"),
        ("request_parameters", "JSON"),
        ("response_elements", "JSON"),
        ("additional_event_data", "JSON"),
        ("service_event_details", "JSON"),
        ("resources", "JSON"),
        ("tls_details", "JSON"),
        ("source_object", "VARCHAR"),
        ("ingested_at", "TIMESTAMPTZ"),
    ),
)

BI_EVENTS = TableDef(
    name="bi_events",
    description=(
        "Successful BI usage events derived from cloudtrail_events at ingest: QuickSight calls, "
        "federated (AssumeRoleWithSAML) and console sign-ins, with the user key, kind "
        "(login/view/edit/other) and the dashboard or analysis id already extracted."
    ),
    partition_by=("event_date",),
    retention_column="event_date",
    columns=(
        ("event_id", "VARCHAR"),
        ("event_time", "TIMESTAMPTZ"),
        ("event_date", "DATE"),
        ("account_id", "VARCHAR"),
        ("region", "VARCHAR"),
        ("event_source", "VARCHAR"),
        ("event_name", "VARCHAR"),
        ("kind", "VARCHAR"),  # login | view | edit | other
        ("user_name", "VARCHAR"),
        ("user_key", "VARCHAR"),  # who, as matched to BI users: the session name or user name
        ("asset_type", "VARCHAR"),  # dashboard | analysis | NULL
        ("asset_id", "VARCHAR"),
        ("asset_name", "VARCHAR"),  # the dashboard name a view reports, when it does
        ("request_name", "VARCHAR"),  # requestParameters.name of a create/update
    ),
)

# --- BI metadata snapshots (QuickSight API shaped). Every row carries the snapshot it
# came from; snapshots accumulate, they are never overwritten.
_SNAP = (
    ("snapshot_time", "TIMESTAMPTZ"),
    ("snapshot_date", "DATE"),
    ("account_id", "VARCHAR"),
    ("region", "VARCHAR"),
)

USERS = TableDef(
    name="users",
    description="BI users per snapshot: role (ADMIN/AUTHOR/READER/...), group memberships, active flag.",
    partition_by=("snapshot_date",),
    retention_column="snapshot_date",
    columns=_SNAP + (
        ("namespace", "VARCHAR"),
        ("user_name", "VARCHAR"),
        ("principal_id", "VARCHAR"),
        ("arn", "VARCHAR"),
        ("email", "VARCHAR"),
        ("role", "VARCHAR"),
        ("identity_type", "VARCHAR"),
        ("active", "BOOLEAN"),
        ("groups", "VARCHAR[]"),
        ("source_object", "VARCHAR"),
    ),
)

ASSETS = TableDef(
    name="assets",
    description="BI assets per snapshot: dashboards, analyses, datasets and data sources, with import mode and SPICE bytes.",
    partition_by=("snapshot_date",),
    retention_column="snapshot_date",
    columns=_SNAP + (
        ("asset_type", "VARCHAR"),  # dashboard | analysis | dataset | datasource
        ("asset_id", "VARCHAR"),
        ("name", "VARCHAR"),
        ("arn", "VARCHAR"),
        ("created_time", "TIMESTAMPTZ"),
        ("updated_time", "TIMESTAMPTZ"),
        ("last_published_time", "TIMESTAMPTZ"),
        ("status", "VARCHAR"),
        ("import_mode", "VARCHAR"),  # SPICE | DIRECT_QUERY (datasets)
        ("spice_bytes", "BIGINT"),
        ("datasource_type", "VARCHAR"),
        ("source_object", "VARCHAR"),
    ),
)

ASSET_PERMISSIONS = TableDef(
    name="asset_permissions",
    description="Who may do what on each BI asset, per snapshot (from Describe*Permissions).",
    partition_by=("snapshot_date",),
    retention_column="snapshot_date",
    columns=_SNAP + (
        ("asset_type", "VARCHAR"),
        ("asset_id", "VARCHAR"),
        ("principal_arn", "VARCHAR"),
        ("principal_type", "VARCHAR"),  # user | group | namespace | other
        ("principal_name", "VARCHAR"),
        ("actions", "VARCHAR[]"),
        ("source_object", "VARCHAR"),
    ),
)

DATASET_USAGE = TableDef(
    name="dataset_usage",
    description="Which dashboard or analysis uses which dataset, per snapshot.",
    partition_by=("snapshot_date",),
    retention_column="snapshot_date",
    columns=_SNAP + (
        ("asset_type", "VARCHAR"),  # dashboard | analysis
        ("asset_id", "VARCHAR"),
        ("dataset_id", "VARCHAR"),
        ("dataset_arn", "VARCHAR"),
        ("source_object", "VARCHAR"),
    ),
)

# --- bookkeeping, written in the same commit as the data it describes.
RAW_EVENTS = TableDef(
    name="raw_events",
    description=(
        "Every event the collector accepted, as received (the single source of truth): the event's JSON "
        "exactly as sent, with receipt time, source, write-key id and request metadata; partitioned by receipt day."
    ),
    partition_by=("received_date",),
    retention_column="received_date",
    columns=(
        ("received_date", "DATE"),
        ("received_at", "TIMESTAMPTZ"),
        ("source", "VARCHAR"),  # collector source name
        ("key_id", "VARCHAR"),  # public id of the write key (never the key)
        ("message_id", "VARCHAR"),
        ("type", "VARCHAR"),  # track | page | screen | identify | group | alias
        ("payload", "JSON"),  # the event as received (after allowlist and sanitizer)
        ("request", "JSON"),  # endpoint, content length, user agent, derived country/device (no IP unless opted in)
        ("segment", "VARCHAR"),  # raw-log segment file the event was durably stored in
    ),
)

EVENTS = TableDef(
    name="events",
    description=(
        "Collected events normalized: one row per messageId (duplicates loaded once), typed columns for what "
        "the web and product insights use, properties/traits/context kept as JSON; partitioned by event day (UTC)."
    ),
    partition_by=("event_date",),
    retention_column="event_date",
    columns=(
        ("event_date", "DATE"),
        ("timestamp", "TIMESTAMPTZ"),  # when it happened (client timestamp corrected by sentAt skew)
        ("received_at", "TIMESTAMPTZ"),
        ("source", "VARCHAR"),
        ("message_id", "VARCHAR"),
        ("type", "VARCHAR"),  # track | page | screen | identify | group | alias
        ("event", "VARCHAR"),  # track: the event name; page/screen: NULL
        ("name", "VARCHAR"),  # page/screen name
        ("anonymous_id", "VARCHAR"),
        ("user_id", "VARCHAR"),
        ("group_id", "VARCHAR"),
        ("previous_id", "VARCHAR"),
        ("properties", "JSON"),
        ("traits", "JSON"),
        ("context", "JSON"),
        ("host", "VARCHAR"),  # page: the site host
        ("path", "VARCHAR"),  # page: URL path without query string
        ("url", "VARCHAR"),
        ("title", "VARCHAR"),
        ("referrer", "VARCHAR"),
        ("referrer_host", "VARCHAR"),
        ("visit_start", "BOOLEAN"),  # page view whose referrer is not the same site: starts a visit
        ("utm_source", "VARCHAR"),
        ("utm_medium", "VARCHAR"),
        ("utm_campaign", "VARCHAR"),
        ("country", "VARCHAR"),  # ISO 3166-1 alpha-2, derived from the IP at receipt
        ("device_type", "VARCHAR"),  # desktop | mobile | tablet | bot | other
        ("browser", "VARCHAR"),
        ("os", "VARCHAR"),
        ("library", "VARCHAR"),  # context.library.name: the client that sent it
    ),
)

DELIVERIES = TableDef(
    name="deliveries",
    description="Every attempt to forward an event to a destination (webhook, GA4, Amplitude, Segment-compatible), with its outcome.",
    partition_by=("attempt_date",),
    retention_column="attempt_date",
    columns=(
        ("attempt_date", "DATE"),
        ("attempted_at", "TIMESTAMPTZ"),
        ("destination", "VARCHAR"),
        ("message_id", "VARCHAR"),
        ("attempt", "INTEGER"),
        ("status", "VARCHAR"),  # delivered | retry | failed | dropped
        ("http_status", "INTEGER"),
        ("error", "VARCHAR"),
        ("duration_ms", "DOUBLE"),
        ("replay", "BOOLEAN"),  # sent by `eventlake destinations replay`
    ),
)

COLLECTOR_SOURCES = TableDef(
    name="collector_sources",
    description=(
        "Sources that may send events to the collector: name, write-key id and SHA-256 hash (the key itself "
        "is shown once), the sites registered for the page-view snippet, allowlists and privacy options, the tenant it writes for; "
        "latest row per name wins."
    ),
    columns=(
        ("name", "VARCHAR"),
        ("key_id", "VARCHAR"),
        ("key_hash", "VARCHAR"),
        ("sites", "VARCHAR[]"),
        ("event_allowlist", "VARCHAR[]"),  # NULL: every event name
        ("property_allowlist", "VARCHAR[]"),  # NULL: every property name
        ("query_allowlist", "VARCHAR[]"),  # URL query parameters kept (others removed)
        ("keep_ip", "BOOLEAN"),
        ("revoked", "BOOLEAN"),
        ("updated_at", "TIMESTAMPTZ"),
        ("tenant", "VARCHAR"),  # the tenant its events are loaded for (NULL: the lake's own); added later, hence last
    ),
)

# --- The web console's principals and its own usage (eventlake.web).
CONSOLE_USERS = TableDef(
    name="console_users",
    description=(
        "People who may sign in to the web console: name, Argon2 password hash, role (reader, author, admin), "
        "e-mail, disabled flag; latest row per name wins."
    ),
    columns=(
        ("user_name", "VARCHAR"),
        ("password_hash", "VARCHAR"),
        ("role", "VARCHAR"),  # reader | author | admin
        ("email", "VARCHAR"),
        ("disabled", "BOOLEAN"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
)

API_TOKENS = TableDef(
    name="api_tokens",
    description=(
        "API tokens (Authorization: Bearer) of console users: token id, SHA-256 hash of the token (the token is "
        "shown once), owner, note, revoked flag; latest row per token id wins."
    ),
    columns=(
        ("token_id", "VARCHAR"),
        ("token_hash", "VARCHAR"),
        ("user_name", "VARCHAR"),
        ("note", "VARCHAR"),
        ("created_at", "TIMESTAMPTZ"),
        ("revoked", "BOOLEAN"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
)

PRINCIPAL_GROUPS = TableDef(
    name="principal_groups",
    description=(
        "Groups of console users (e.g. pii_readers, who see unmasked personal data): name, description, "
        "removed flag; latest row per name wins."
    ),
    columns=(
        ("group_name", "VARCHAR"),
        ("description", "VARCHAR"),
        ("removed", "BOOLEAN"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
)

GROUP_MEMBERS = TableDef(
    name="group_members",
    description="Who is in which group: group, user, removed flag; latest row per (group, user) wins.",
    columns=(
        ("group_name", "VARCHAR"),
        ("user_name", "VARCHAR"),
        ("removed", "BOOLEAN"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
)

COLUMN_POLICIES = TableDef(
    name="column_policies",
    description=(
        "Column policies: a column's PII classification (email, ip, name, phone, card, address, free_text, id, other) "
        "and its mask (redact, hash, last4, null, year or a SQL expression), the groups that see the real value, "
        "removed flag; latest row per (table, column) wins."
    ),
    columns=(
        ("table_name", "VARCHAR"),
        ("column_name", "VARCHAR"),
        ("classification", "VARCHAR"),
        ("mask", "VARCHAR"),  # redact | hash | last4 | null | year | sql, NULL: classified only
        ("mask_sql", "VARCHAR"),  # the expression of a sql mask
        ("except_groups", "VARCHAR[]"),
        ("updated_by", "VARCHAR"),  # manual | suggest
        ("removed", "BOOLEAN"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
)

CONSOLE_EVENTS = TableDef(
    name="console_events",
    description=(
        "The web console's own usage: sign-ins (and refused ones), pages and dashboards viewed, saved queries "
        "and SQL run, downloads; who, when, what, rows returned, outcome. Feeds bi_events, so the admin-console "
        "insights analyse eventlake's own usage too (account 'eventlake')."
    ),
    partition_by=("event_date",),
    retention_column="event_date",
    columns=(
        ("event_id", "VARCHAR"),
        ("event_time", "TIMESTAMPTZ"),
        ("event_date", "DATE"),
        ("user_name", "VARCHAR"),  # NULL for a refused sign-in of an unknown name
        ("auth", "VARCHAR"),  # session | token | none
        ("action", "VARCHAR"),  # login | login_failed | logout | view | run_insight | run_sql | download
        ("page", "VARCHAR"),  # the console path, e.g. /admin/dashboards
        ("asset_type", "VARCHAR"),  # dashboard | user | dataset | insight | sql | page
        ("asset_id", "VARCHAR"),
        ("asset_name", "VARCHAR"),
        ("status", "VARCHAR"),  # ok | error | refused
        ("rows", "BIGINT"),
        ("duration_ms", "DOUBLE"),
        ("detail", "JSON"),  # parameters, SQL text, format, error message
    ),
)

# --- The audit trail (eventlake.governance.audit): every access, as an event.
AUDIT_EVENTS = TableDef(
    name="audit_events",
    description=(
        "The audit trail: every query, sign-in, export, grant and change of principals, tokens, groups, tenants "
        "and column policies, from the CLI and the console; who, when, what, tables touched, rows returned, "
        "allowed or refused and why. Readable by admins only."
    ),
    partition_by=("event_date",),
    columns=(
        ("event_id", "VARCHAR"),
        ("event_time", "TIMESTAMPTZ"),
        ("event_date", "DATE"),
        ("actor", "VARCHAR"),  # the user; local:<os user> for the CLI without a token; NULL when unknown
        ("auth", "VARCHAR"),  # local | token | session | none
        ("token_id", "VARCHAR"),  # the API token used (its id, never the token)
        ("via", "VARCHAR"),  # cli | console | api
        ("action", "VARCHAR"),  # query | login | logout | export | view | grant | revoke | token_add | ...
        ("target", "VARCHAR"),  # the insight, page, user, tenant, table.column ... acted on
        ("statement", "VARCHAR"),  # the SQL as given
        ("tables", "VARCHAR[]"),  # the tables the statement touches
        ("rows", "BIGINT"),  # rows returned
        ("outcome", "VARCHAR"),  # ok | refused | error
        ("reason", "VARCHAR"),  # why refused, or the error (values scrubbed)
        ("client", "VARCHAR"),  # the console client's address
        ("detail", "JSON"),  # parameters, format, engine, ...
    ),
)

# --- Tenants (eventlake.governance.tenants): the organizations one lake serves.
TENANTS = TableDef(
    name="tenants",
    description=(
        "Tenants and their storage model: pool (shared tables, rows with tenant_id), bridge (a schema per "
        "tenant) or silo (a lake of its own); latest row per name wins."
    ),
    columns=(
        ("name", "VARCHAR"),
        ("model", "VARCHAR"),  # pool | bridge | silo
        ("schema_name", "VARCHAR"),  # bridge: tenant_<name>
        ("silo_path", "VARCHAR"),  # silo: tenants/<name>, relative to the lake folder
        ("removed", "BOOLEAN"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
)

TENANT_GRANTS = TableDef(
    name="tenant_grants",
    description="Which users and groups may read which tenant's data; latest row per (tenant, grantee) wins.",
    columns=(
        ("tenant", "VARCHAR"),
        ("grantee_type", "VARCHAR"),  # user | group
        ("grantee", "VARCHAR"),
        ("revoked", "BOOLEAN"),
        ("updated_at", "TIMESTAMPTZ"),
    ),
)

INGESTED_OBJECTS = TableDef(
    name="ingested_objects",
    description="Every source object read, with its identity (size, etag/mtime) and counts; makes ingest incremental.",
    columns=(
        ("source", "VARCHAR"),
        ("uri", "VARCHAR"),
        ("size", "BIGINT"),
        ("version", "VARCHAR"),  # S3 ETag or local mtime_ns
        ("status", "VARCHAR"),  # loaded | skipped | failed
        ("records", "BIGINT"),
        ("loaded", "BIGINT"),
        ("duplicates", "BIGINT"),
        ("quarantined", "BIGINT"),
        ("run_id", "VARCHAR"),
        ("ingested_at", "TIMESTAMPTZ"),
    ),
)

QUARANTINE = TableDef(
    name="quarantine",
    description="Rejected input: the object, the position in it, the reason and (a prefix of) the raw record.",
    columns=(
        ("source", "VARCHAR"),
        ("source_object", "VARCHAR"),
        ("position", "VARCHAR"),
        ("reason", "VARCHAR"),
        ("raw", "VARCHAR"),
        ("run_id", "VARCHAR"),
        ("quarantined_at", "TIMESTAMPTZ"),
    ),
)

INGEST_RUNS = TableDef(
    name="ingest_runs",
    description="One row per ingest command: what was read, loaded, skipped and quarantined.",
    columns=(
        ("run_id", "VARCHAR"),
        ("source", "VARCHAR"),
        ("started_at", "TIMESTAMPTZ"),
        ("finished_at", "TIMESTAMPTZ"),
        ("files_read", "BIGINT"),
        ("files_skipped", "BIGINT"),
        ("files_failed", "BIGINT"),
        ("files_unchanged", "BIGINT"),
        ("records_read", "BIGINT"),
        ("records_loaded", "BIGINT"),
        ("records_duplicate", "BIGINT"),
        ("records_quarantined", "BIGINT"),
        ("bytes_read", "BIGINT"),
    ),
)

class _Tables(dict):
    """name -> TableDef of every table. The service-log tables are declared next to
    their parsers (sources/<type>.py) and join on first use: importing them here would
    be circular (they import TableDef)."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            from ..sources import log_types

            for logtype in log_types().values():
                self.setdefault(logtype.table.name, logtype.table)

    def __getitem__(self, key):
        self._load()
        return super().__getitem__(key)

    def __contains__(self, key) -> bool:
        self._load()
        return super().__contains__(key)

    def __iter__(self):
        self._load()
        return super().__iter__()

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def get(self, key, default=None):
        self._load()
        return super().get(key, default)

    def keys(self):
        self._load()
        return super().keys()

    def values(self):
        self._load()
        return super().values()

    def items(self):
        self._load()
        return super().items()


TABLES: dict[str, TableDef] = _Tables(
    (t.name, t)
    for t in (
        CLOUDTRAIL_EVENTS,
        BI_EVENTS,
        USERS,
        ASSETS,
        ASSET_PERMISSIONS,
        DATASET_USAGE,
        RAW_EVENTS,
        EVENTS,
        DELIVERIES,
        COLLECTOR_SOURCES,
        CONSOLE_USERS,
        API_TOKENS,
        PRINCIPAL_GROUPS,
        GROUP_MEMBERS,
        COLUMN_POLICIES,
        CONSOLE_EVENTS,
        AUDIT_EVENTS,
        TENANTS,
        TENANT_GRANTS,
        INGESTED_OBJECTS,
        QUARANTINE,
        INGEST_RUNS,
    )
)
