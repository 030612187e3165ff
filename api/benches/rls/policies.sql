-- Row rules and read auditing for the PostGraphile peers ("PostGraphile 4/5, RLS" in run.sh):
-- the same rules Bydel applies when a municipality reads its inbox, one referral (node) and a
-- project page, done the PostGraphile way (PostgreSQL roles, row-level security, JWT claims
-- in transaction settings), so that comparing throughput compares like with like.
--
-- Applied by run.sh (idempotent: run it as often as you like) before the RLS runs. It changes
-- nothing for Bydel, pgbench or the superuser PostGraphile runs: they connect as the superuser
-- `postgres`, which (as the tables' owner and superuser) bypasses row-level security; no table
-- gets FORCE ROW LEVEL SECURITY. The policies name the role `bench_municipality` only.
--
-- How it is set up:
-- * Roles. `bench_municipality` (NOLOGIN) is the role a municipality's requests run as;
--   `bench_postgraphile` (LOGIN, NOINHERIT, no privileges of its own) is what PostGraphile
--   connects as and may become `bench_municipality`. PostGraphile 4 switches with
--   `SET LOCAL role` from the JWT's `role` claim (`--jwt-secret`, `--default-role`) and puts
--   the claims in `jwt.claims.*` (transaction-local settings); the PostGraphile 5 config
--   (postgraphile5/graphile.config.mjs) verifies the same HS256 token and passes the same
--   settings through `pgSettings`. The policies read `jwt.claims.organisation_id` and
--   `jwt.claims.municipality_code` (what Bydel takes from the token's organisation).
-- * What GraphQL exposes: schema `bench_rls`, views named like the tables (referral,
--   referral_event, participant, mother, project, visit, visit_topic) with smart comments
--   for their keys and relations, so the GraphQL schema (type, field and relation names)
--   is PostGraphile's own for those tables and the superuser queries in
--   api/benches/postgraphile/ run unchanged. The views are `security_invoker`: every read
--   of a base table is checked against its row policies as `bench_municipality`.
-- * Rows (Bydel's rule 2 for a municipality, api/src/auth/access.rs): referrals it
--   requested, and once requested those it receives or that wait in its pool; their timeline
--   events; participants it registered or that are on a referral it sees; projects in its
--   municipality or that it partners in (any role); mothers and visits (and visit topics) of
--   projects in its municipality or that it partners in as `partner` (not funder).
--   Policies that name another table are themselves filtered by that table's policies, as
--   Bydel's nested conditions are. project_partner and consent get no RLS: they are not
--   exposed, and the policies and the personal-data function read them.
-- * Personal data (rule 3): a view column is NULL unless `bench_rls.disclosure` allows it:
--   2 (everything) when the municipality registered her, operates her project, or receives a
--   referral about her with her live consent to share with it (share_with_receiver, not
--   withdrawn, valid_until not passed); 1 (pool profile: district) when she is on a
--   `requested` pool referral it sees that is unclaimed or claimed by it; 0 otherwise.
--   A referral's note: its requester, or 2. Bydel refuses such a field with FORBIDDEN; here
--   it is NULL (PostGraphile has no per-field errors), which the correctness check in run.sh
--   does not need to distinguish for kommune-101 because Bydel returns no FORBIDDEN on those
--   reads (its check would stop the run).
-- * Audit (where Bydel audits): `bench_rls.disclosure` is VOLATILE and evaluated once per
--   participant row and once per referral row the views return (a LATERAL subquery with
--   OFFSET 0, so neither the planner nor a repeated column evaluates it twice). The first
--   time a request (one transaction: PostGraphile runs each request with JWT settings in
--   BEGIN .. COMMIT) meets a participant, it decides her disclosure and, when anything is
--   disclosed, inserts one `read` row into `bench_rls.read_audit` (the columns, indexes and
--   detail format of Bydel's audit_event); later meetings in the same request reuse the
--   decision from a transaction-local setting (`bench.disclosed`), so a request writes one
--   row per participant read, as Bydel writes one per record. The insert is part of the
--   request's transaction, committed with the default `synchronous_commit = on`: each
--   request that reads personal data waits for its WAL flush, as Bydel's durable read audit
--   does. Differences, both against PostGraphile: one INSERT per participant (Bydel: one
--   multi-row INSERT per request), and a participant row is audited when it is read through
--   the view, whatever fields the query selects (Bydel: when a personal field is returned);
--   every benchmark query selects personal fields of every participant it reads, so the rows
--   written are the same. The detail names every category the disclosure level allows
--   rather than the fields asked for.
-- * Not modelled: scopes (the bench token has every scope the reads need), the NGO and
--   secretariat rules (the benchmark reads as a municipality only), mothers' contact details
--   and visit notes (the views do not expose them; the benchmark reads neither), the
--   municipality's case reference.

SET client_min_messages = warning;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_municipality') THEN
    CREATE ROLE bench_municipality NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_postgraphile') THEN
    CREATE ROLE bench_postgraphile LOGIN NOINHERIT;
  END IF;
END $$;
GRANT bench_municipality TO bench_postgraphile;

CREATE SCHEMA IF NOT EXISTS bench_rls;
GRANT USAGE ON SCHEMA bench_rls TO bench_municipality, bench_postgraphile;
GRANT USAGE ON SCHEMA public TO bench_municipality;

-- The audit trail of the RLS peers: Bydel's audit_event (migration 8) without the columns a
-- municipality's read leaves empty; bigint identity instead of Bydel's UUIDv7 (both insert
-- at the right end of the primary key index).
CREATE TABLE IF NOT EXISTS bench_rls.read_audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  request_id varchar(64),
  client_id uuid,
  organisation_id uuid,
  action text NOT NULL DEFAULT 'read',
  entity_type varchar(32) NOT NULL,
  entity_id uuid,
  participant_id uuid,
  detail text
);
CREATE INDEX IF NOT EXISTS read_audit_participant ON bench_rls.read_audit (participant_id, occurred_at);
CREATE INDEX IF NOT EXISTS read_audit_client ON bench_rls.read_audit (client_id, occurred_at);
CREATE INDEX IF NOT EXISTS read_audit_entity ON bench_rls.read_audit (entity_type, entity_id);
GRANT INSERT ON bench_rls.read_audit TO bench_municipality;
COMMENT ON TABLE bench_rls.read_audit IS E'@omit';

-- The claims, NULL without a token (then every policy keeps nothing).
CREATE OR REPLACE FUNCTION bench_rls.org() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('jwt.claims.organisation_id', true), '')::uuid $$;
CREATE OR REPLACE FUNCTION bench_rls.code() RETURNS int LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('jwt.claims.municipality_code', true), '')::int $$;
COMMENT ON FUNCTION bench_rls.org() IS E'@omit';
COMMENT ON FUNCTION bench_rls.code() IS E'@omit';

-- Rule 3 for one participant, decided once per request and audited when anything is shown.
CREATE OR REPLACE FUNCTION bench_rls.disclosure(p_id uuid) RETURNS int
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  viewer uuid := bench_rls.org();
  seen text := coalesce(current_setting('bench.disclosed', true), '');
  at int;
  level int;
BEGIN
  IF viewer IS NULL OR p_id IS NULL THEN
    RETURN 0;
  END IF;
  at := position(p_id::text IN seen);
  IF at > 0 THEN
    RETURN substr(seen, at + 37, 1)::int;
  END IF;
  SELECT CASE
    WHEN EXISTS (SELECT 1 FROM public.participant p
                  WHERE p.id = p_id
                    AND (p.registered_by_organisation_id = viewer
                         OR p.project_id IN (SELECT pr.id FROM public.project pr
                                              WHERE pr.operator_organisation_id = viewer)))
      OR EXISTS (SELECT 1 FROM public.referral r
                  WHERE r.participant_id = p_id AND r.receiver_organisation_id = viewer
                    AND EXISTS (SELECT 1 FROM public.consent c
                                 WHERE c.participant_id = r.participant_id
                                   AND c.purpose = 'share_with_receiver'
                                   AND c.receiver_organisation_id = viewer
                                   AND c.withdrawn_at IS NULL
                                   AND (c.valid_until IS NULL OR c.valid_until > now())))
      THEN 2
    -- The referral's own policy keeps only those the viewer sees.
    WHEN EXISTS (SELECT 1 FROM public.referral r
                  WHERE r.participant_id = p_id AND r.status = 'requested'
                    AND r.pool_municipality_code IS NOT NULL
                    AND (r.receiver_organisation_id IS NULL OR r.receiver_organisation_id = viewer))
      THEN 1
    ELSE 0 END
  INTO level;
  PERFORM set_config('bench.disclosed', seen || p_id::text || ':' || level || ',', true);
  IF level > 0 THEN
    INSERT INTO bench_rls.read_audit (organisation_id, entity_type, entity_id, participant_id, detail)
    VALUES (viewer, 'participant', p_id, p_id,
            CASE level WHEN 2 THEN 'categories: contact,district,identity,languages,notes'
                       ELSE 'categories: district,languages' END);
  END IF;
  RETURN level;
END $$;
COMMENT ON FUNCTION bench_rls.disclosure(uuid) IS E'@omit';
REVOKE ALL ON FUNCTION bench_rls.disclosure(uuid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bench_rls.disclosure(uuid) TO bench_municipality;

-- Row policies (rule 2, municipality). The claims are read in scalar subqueries, so each is
-- evaluated once per statement as an init plan, not per row (the usual advice for RLS speed). Only for bench_municipality; the owner and
-- superusers bypass them.
ALTER TABLE public.referral ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.referral_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.participant ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.project ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.mother ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.visit ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.visit_topic ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS bench_municipality_read ON public.referral;
CREATE POLICY bench_municipality_read ON public.referral FOR SELECT TO bench_municipality USING (
  requester_organisation_id = (SELECT bench_rls.org())
  OR (requested_at IS NOT NULL
      AND (receiver_organisation_id = (SELECT bench_rls.org()) OR pool_municipality_code = (SELECT bench_rls.code()))));

DROP POLICY IF EXISTS bench_municipality_read ON public.referral_event;
CREATE POLICY bench_municipality_read ON public.referral_event FOR SELECT TO bench_municipality USING (
  EXISTS (SELECT 1 FROM public.referral r WHERE r.id = referral_event.referral_id));

DROP POLICY IF EXISTS bench_municipality_read ON public.participant;
CREATE POLICY bench_municipality_read ON public.participant FOR SELECT TO bench_municipality USING (
  registered_by_organisation_id = (SELECT bench_rls.org())
  OR EXISTS (SELECT 1 FROM public.referral r WHERE r.participant_id = participant.id));

DROP POLICY IF EXISTS bench_municipality_read ON public.project;
CREATE POLICY bench_municipality_read ON public.project FOR SELECT TO bench_municipality USING (
  municipality_code = (SELECT bench_rls.code())
  OR id IN (SELECT pp.project_id FROM public.project_partner pp
             WHERE pp.organisation_id = (SELECT bench_rls.org())));

-- "Run" projects: in its municipality, or partnered in as `partner` (a funder sees no people).
DROP POLICY IF EXISTS bench_municipality_read ON public.mother;
CREATE POLICY bench_municipality_read ON public.mother FOR SELECT TO bench_municipality USING (
  project_id IN (SELECT p.id FROM public.project p
                  WHERE p.municipality_code = (SELECT bench_rls.code())
                     OR p.id IN (SELECT pp.project_id FROM public.project_partner pp
                                  WHERE pp.organisation_id = (SELECT bench_rls.org()) AND pp.role = 'partner')));

DROP POLICY IF EXISTS bench_municipality_read ON public.visit;
CREATE POLICY bench_municipality_read ON public.visit FOR SELECT TO bench_municipality USING (
  project_id IN (SELECT p.id FROM public.project p
                  WHERE p.municipality_code = (SELECT bench_rls.code())
                     OR p.id IN (SELECT pp.project_id FROM public.project_partner pp
                                  WHERE pp.organisation_id = (SELECT bench_rls.org()) AND pp.role = 'partner')));

DROP POLICY IF EXISTS bench_municipality_read ON public.visit_topic;
CREATE POLICY bench_municipality_read ON public.visit_topic FOR SELECT TO bench_municipality USING (
  EXISTS (SELECT 1 FROM public.visit v WHERE v.id = visit_topic.visit_id));

GRANT SELECT ON public.referral, public.referral_event, public.participant, public.project,
  public.mother, public.visit, public.visit_topic, public.project_partner, public.consent
  TO bench_municipality;

-- The exposed views.
DROP VIEW IF EXISTS bench_rls.referral, bench_rls.referral_event, bench_rls.participant,
  bench_rls.project, bench_rls.mother, bench_rls.visit, bench_rls.visit_topic CASCADE;

CREATE VIEW bench_rls.project WITH (security_invoker = true) AS
  SELECT id, name, municipality_code, operator_organisation_id, status, started_on, ended_on,
         created_at, updated_at
    FROM public.project;

CREATE VIEW bench_rls.mother WITH (security_invoker = true) AS
  SELECT id, project_id, first_name, last_name, status, joined_on, left_on, created_at, updated_at
    FROM public.mother;

CREATE VIEW bench_rls.visit WITH (security_invoker = true) AS
  SELECT id, project_id, mother_id, participant_id, channel, visited_on, duration_minutes,
         contact_origin, next_step, attendee_count, created_at, updated_at
    FROM public.visit;

CREATE VIEW bench_rls.visit_topic WITH (security_invoker = true) AS
  SELECT visit_id, topic FROM public.visit_topic;

CREATE VIEW bench_rls.participant WITH (security_invoker = true) AS
  SELECT p.id, p.pseudonym, p.project_id, p.registered_by_organisation_id,
         CASE WHEN d.level = 2 THEN p.first_name END AS first_name,
         CASE WHEN d.level = 2 THEN p.birth_year END AS birth_year,
         CASE WHEN d.level = 2 THEN p.preferred_contact END AS preferred_contact,
         CASE WHEN d.level = 2 AND p.erased_at IS NULL THEN p.preferred_language END AS preferred_language,
         CASE WHEN d.level = 2 THEN p.phone END AS phone,
         CASE WHEN d.level = 2 THEN p.email END AS email,
         CASE WHEN d.level >= 1 THEN p.district END AS district,
         CASE WHEN d.level = 2 THEN p.notes END AS notes,
         p.version, p.erased_at, p.registered_by_mother_id, p.created_at, p.updated_at
    FROM public.participant p
    CROSS JOIN LATERAL (SELECT bench_rls.disclosure(p.id) AS level OFFSET 0) d;

CREATE VIEW bench_rls.referral WITH (security_invoker = true) AS
  SELECT r.id, r.direction, r.requester_organisation_id, r.receiver_organisation_id,
         r.pool_municipality_code, r.project_id, r.participant_id, r.mother_id, r.visit_id,
         r.service_category, r.priority, r.service_id, r.status, r.status_reason, r.outcome,
         CASE WHEN r.requester_organisation_id = bench_rls.org() OR d.level = 2 THEN r.note END AS note,
         r.requested_at, r.accepted_at, r.closed_at, r.version, r.created_at, r.updated_at
    FROM public.referral r
    CROSS JOIN LATERAL (SELECT bench_rls.disclosure(r.participant_id) AS level OFFSET 0) d;

CREATE VIEW bench_rls.referral_event WITH (security_invoker = true) AS
  SELECT e.id, e.referral_id, e.sequence, e.actor_organisation_id, e.actor_client_id,
         e.from_status, e.to_status, e.kind, e.reason, e.occurred_at, e.created_at
    FROM public.referral_event e;

COMMENT ON VIEW bench_rls.project IS E'@primaryKey id';
COMMENT ON VIEW bench_rls.mother IS
  E'@primaryKey id\n@foreignKey (project_id) references bench_rls.project (id)';
COMMENT ON VIEW bench_rls.visit IS
  E'@primaryKey id\n@foreignKey (project_id) references bench_rls.project (id)\n@foreignKey (mother_id) references bench_rls.mother (id)\n@foreignKey (participant_id) references bench_rls.participant (id)';
COMMENT ON VIEW bench_rls.visit_topic IS
  E'@primaryKey visit_id,topic\n@foreignKey (visit_id) references bench_rls.visit (id)';
COMMENT ON VIEW bench_rls.participant IS
  E'@primaryKey id\n@foreignKey (project_id) references bench_rls.project (id)';
COMMENT ON VIEW bench_rls.referral IS
  E'@primaryKey id\n@foreignKey (project_id) references bench_rls.project (id)\n@foreignKey (participant_id) references bench_rls.participant (id)\n@foreignKey (mother_id) references bench_rls.mother (id)\n@foreignKey (visit_id) references bench_rls.visit (id)';
COMMENT ON VIEW bench_rls.referral_event IS
  E'@primaryKey id\n@foreignKey (referral_id) references bench_rls.referral (id)';

GRANT SELECT ON bench_rls.referral, bench_rls.referral_event, bench_rls.participant,
  bench_rls.project, bench_rls.mother, bench_rls.visit, bench_rls.visit_topic
  TO bench_municipality;
