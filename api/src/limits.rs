//! Cost limits and abuse resistance for `/graphql`: what one operation may ask for (depth,
//! complexity with page sizes, aliases, introspection), how large its answer may grow, how long
//! a request may run, and how often one API client may call (a token bucket per client).
//!
//! Invariants: every check on the document runs before execution, so a refused operation costs
//! no database work; introspection is measured by its own rule (graphql-js's
//! `MaxIntrospectionDepthRule`), so GraphiQL's and codegen tools' full introspection query passes
//! the data limits. The rate limiter keeps its buckets in memory: limits apply per replica.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use async_graphql::{
    Name, Variables,
    parser::types::{
        BaseType, ExecutableDocument, OperationDefinition, Selection, SelectionSet, TypeDefinition,
        TypeKind, TypeSystemDefinition,
    },
};
use axum::{
    extract::{Request, State},
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::Response,
};
use uuid::Uuid;

use crate::{auth::Principal, error::ApiError, graphql_http, pagination::DEFAULT_PAGE_SIZE};

/// Field nesting an operation may reach (a connection costs two levels: `edges { node }`).
pub const DEFAULT_MAX_DEPTH: usize = 12;
/// Summed field cost, where a connection multiplies its selection by its page size and a plain
/// list by the items it usually holds ([`LIST_ITEMS`]): a page of 100 courses with their
/// enrolments costs about 20,000.
pub const DEFAULT_MAX_COMPLEXITY: u64 = 50_000;
/// Aliased fields per operation: aliases are how one request asks for the same work many times.
pub const DEFAULT_MAX_ALIASES: u64 = 30;
/// Serialised response bytes.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 8 * 1024 * 1024;
/// Time a request may take from authentication to its answer.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Sustained requests per second per API client.
pub const DEFAULT_RATE: f64 = 20.0;
/// Requests an idle API client may send at once.
pub const DEFAULT_BURST: u32 = 100;
/// Failed authentications per second per source address: a client with a wrong or expired
/// token learns it from its first answers; guessing tokens at speed is refused.
pub const DEFAULT_AUTH_FAILURE_RATE: f64 = 1.0;
/// Failed authentications a source address may have at once.
pub const DEFAULT_AUTH_FAILURE_BURST: u32 = 30;
/// What a plain (unpaged) list field counts as: its selection times the number of items it
/// usually holds at most, per field. A list that holds more still runs bounded, by the response
/// size and the request's time (see [`FieldBudget`]); a list not named here counts as a page.
pub const LIST_ITEMS: [(&str, &str, u64); 14] = [
    // A referral's timeline: created, requested, answered, started, held, resumed, closed.
    ("Referral", "events", 20),
    // Consents of one woman: one per receiver and purpose.
    ("Participant", "consents", 10),
    // A training cohort (the programme trains 10 to 25 women per course).
    ("Course", "enrolments", 30),
    ("Mother", "enrolments", 5),
    ("Project", "mothers", 100),
    ("Project", "courses", 20),
    ("Project", "partners", 10),
    ("ApiClient", "tokens", 20),
    // At most `--webhook-max-attempts`: 8 by default.
    ("WebhookDelivery", "attempts", 10),
    // The service directory: a service in a few languages, municipalities and places, with
    // a few contact points; a location's week with two periods a day.
    ("Service", "languages", 10),
    ("Service", "serviceAreas", 10),
    ("Service", "locations", 5),
    ("Service", "contacts", 5),
    ("ServiceLocation", "openingHours", 14),
];

/// The count of a plain list field that [`LIST_ITEMS`] does not name.
const DEFAULT_LIST_ITEMS: u64 = DEFAULT_PAGE_SIZE;

fn list_items(parent: &str, field: &str) -> u64 {
    LIST_ITEMS
        .iter()
        .find(|(p, f, _)| *p == parent && *f == field)
        .map_or(DEFAULT_LIST_ITEMS, |(_, _, items)| *items)
}

/// Introspection lists (`fields`, `inputFields`, `interfaces`, `possibleTypes`) nested this deep
/// are refused, as graphql-js does: the standard introspection query nests them once.
const MAX_INTROSPECTION_LISTS: usize = 3;
const INTROSPECTION_LISTS: [&str; 4] = ["fields", "inputFields", "interfaces", "possibleTypes"];

/// The limits one server enforces; [`Default`] is what `bydel serve` uses without flags.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    pub max_depth: usize,
    pub max_complexity: u64,
    pub max_aliases: u64,
    pub max_response_bytes: usize,
    pub request_timeout: Duration,
    /// Requests per second per API client; `0` switches rate limiting off.
    pub rate: f64,
    pub burst: u32,
    /// Whether `__schema` and `__type` are answered.
    pub introspection: bool,
    /// Failed authentications per second per source address; `0` switches this limit off.
    pub auth_failure_rate: f64,
    /// Failed authentications a source address may have at once before the rate applies.
    pub auth_failure_burst: u32,
    /// Whether the source address is the last `X-Forwarded-For` entry (set only behind a load
    /// balancer that appends it), instead of the connection's peer.
    pub trust_forwarded_for: bool,
}

impl Default for LimitSettings {
    fn default() -> Self {
        Self {
            max_depth: DEFAULT_MAX_DEPTH,
            max_complexity: DEFAULT_MAX_COMPLEXITY,
            max_aliases: DEFAULT_MAX_ALIASES,
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            rate: DEFAULT_RATE,
            burst: DEFAULT_BURST,
            introspection: true,
            auth_failure_rate: DEFAULT_AUTH_FAILURE_RATE,
            auth_failure_burst: DEFAULT_AUTH_FAILURE_BURST,
            trust_forwarded_for: false,
        }
    }
}

/// How many requests each limit refused since start, for `/metrics`.
#[derive(Debug, Default)]
pub struct Refusals {
    pub too_complex: AtomicU64,
    pub response_too_large: AtomicU64,
    pub timed_out: AtomicU64,
}

/// The limits of one server: settings, the schema's shape (which fields are connections) and
/// the per-client rate limiter. Shared by every request.
pub struct Limits {
    settings: LimitSettings,
    shape: SchemaShape,
    rate_limiter: RateLimiter,
    auth_failures: RateLimiter<IpAddr>,
    refusals: Refusals,
}

impl Limits {
    /// `sdl` is the served schema's SDL (`schema.sdl()`), read once for the field types.
    pub fn new(settings: LimitSettings, sdl: &str) -> Self {
        Self {
            shape: SchemaShape::of_sdl(sdl),
            rate_limiter: RateLimiter::new(settings.rate, settings.burst),
            auth_failures: RateLimiter::new(
                settings.auth_failure_rate,
                settings.auth_failure_burst,
            ),
            refusals: Refusals::default(),
            settings,
        }
    }

    pub fn settings(&self) -> &LimitSettings {
        &self.settings
    }

    pub fn rate_limiter(&self) -> &RateLimiter {
        &self.rate_limiter
    }

    /// Failed authentications per source address (see [`source_address`]).
    pub fn auth_failures(&self) -> &RateLimiter<IpAddr> {
        &self.auth_failures
    }

    /// Counters of the document, response-size and timeout refusals.
    pub fn refusals(&self) -> &Refusals {
        &self.refusals
    }

    /// The cost of the operation `request` would run. A document that does not parse has no
    /// cost here: the executor reports the syntax error.
    pub fn cost(&self, request: &mut async_graphql::Request) -> Result<Option<Cost>, ApiError> {
        let variables = request.variables.clone();
        let wanted = request.operation_name.clone();
        let Ok(document) = request.parsed_query() else {
            return Ok(None);
        };
        let mut walker = Walker {
            shape: &self.shape,
            document,
            variables: &variables,
            operation: None,
            fragments: HashMap::new(),
            visiting: Vec::new(),
        };
        let mut total = Cost::default();
        for (name, operation) in document.operations.iter() {
            if graphql_http::selects(wanted.as_deref(), name) {
                total = total.max(walker.operation(&operation.node)?);
            }
        }
        Ok(Some(total))
    }

    /// Refuses an operation beyond the limits, before it runs; also switches introspection
    /// off in the executor when the settings do.
    pub fn check(&self, request: &mut async_graphql::Request) -> Result<(), ApiError> {
        if !self.settings.introspection {
            request.introspection_mode = async_graphql::IntrospectionMode::Disabled;
        }
        let variables = request.variables.clone();
        if let Ok(document) = request.parsed_query() {
            crate::inputs::check(document, &variables)?;
        }
        let Some(cost) = self.cost(request)? else {
            return Ok(());
        };
        let refused = self.refusal(&cost);
        if refused.is_some() {
            self.refusals.too_complex.fetch_add(1, Ordering::Relaxed);
        }
        refused.map_or(Ok(()), Err)
    }

    fn refusal(&self, cost: &Cost) -> Option<ApiError> {
        let s = &self.settings;
        let too_complex = |message: String| Some(ApiError::TooComplex(message));
        if cost.introspection && !s.introspection {
            return Some(ApiError::forbidden(
                "introspection is disabled on this server; the schema is published as schema.graphql",
            ));
        }
        if cost.introspection_lists >= MAX_INTROSPECTION_LISTS {
            return too_complex(format!(
                "the introspection query nests fields, inputFields, interfaces or possibleTypes {} levels deep; at most {} are allowed",
                cost.introspection_lists,
                MAX_INTROSPECTION_LISTS - 1
            ));
        }
        if cost.depth > s.max_depth {
            return too_complex(format!(
                "the query nests {} levels deep; at most {} are allowed",
                cost.depth, s.max_depth
            ));
        }
        if cost.aliases > s.max_aliases {
            return too_complex(format!(
                "the query uses {} aliases; at most {} are allowed",
                cost.aliases, s.max_aliases
            ));
        }
        if cost.complexity > s.max_complexity {
            return too_complex(format!(
                "the query's complexity is {} (each field counts 1, a connection multiplies its selection by first/last or {DEFAULT_PAGE_SIZE}); at most {} is allowed: ask for smaller pages or fewer fields",
                cost.complexity, s.max_complexity
            ));
        }
        None
    }

    /// Refuses a serialised response larger than the limit (the work is done, but a client
    /// that asks for more than this is better served by paging).
    pub fn check_response_size(&self, bytes: usize) -> Result<(), ApiError> {
        if bytes <= self.settings.max_response_bytes {
            return Ok(());
        }
        self.refusals
            .response_too_large
            .fetch_add(1, Ordering::Relaxed);
        Err(ApiError::ResponseTooLarge(format!(
            "the response would be {bytes} bytes; at most {} are allowed: ask for smaller pages or fewer fields",
            self.settings.max_response_bytes
        )))
    }
}

/// What one operation asks for, as the limits measure it.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    /// Nesting of data fields (introspection not counted).
    pub depth: usize,
    /// 1 per data field; a connection multiplies its selection by its page size.
    pub complexity: u64,
    /// Aliased fields, counted once per place they occur after fragments are expanded.
    pub aliases: u64,
    /// Nesting of introspection's list fields.
    pub introspection_lists: usize,
    /// Whether the operation reads `__schema` or `__type`.
    pub introspection: bool,
}

impl Cost {
    /// The cost of two selections side by side.
    fn beside(self, other: Cost) -> Cost {
        Cost {
            depth: self.depth.max(other.depth),
            complexity: self.complexity.saturating_add(other.complexity),
            aliases: self.aliases.saturating_add(other.aliases),
            introspection_lists: self.introspection_lists.max(other.introspection_lists),
            introspection: self.introspection || other.introspection,
        }
    }

    /// The larger of two alternatives (operations of one document).
    fn max(self, other: Cost) -> Cost {
        Cost {
            depth: self.depth.max(other.depth),
            complexity: self.complexity.max(other.complexity),
            aliases: self.aliases.max(other.aliases),
            introspection_lists: self.introspection_lists.max(other.introspection_lists),
            introspection: self.introspection || other.introspection,
        }
    }
}

/// For every object and interface type, its fields' (unwrapped) types and whether each is a
/// Relay connection (a `...Connection` type paged with `first`).
#[derive(Debug, Default)]
struct SchemaShape {
    types: HashMap<String, HashMap<String, FieldShape>>,
}

#[derive(Debug)]
struct FieldShape {
    type_name: String,
    connection: bool,
    /// A plain list (`[Mother!]`), not paged: the items it counts as (see [`LIST_ITEMS`]).
    list: Option<u64>,
}

impl SchemaShape {
    fn of_sdl(sdl: &str) -> Self {
        let Ok(document) = async_graphql::parser::parse_schema(sdl) else {
            tracing::error!("the schema's own SDL does not parse; connections count as fields");
            return Self::default();
        };
        let types = document
            .definitions
            .iter()
            .filter_map(|definition| match definition {
                TypeSystemDefinition::Type(ty) => Some(&ty.node),
                _ => None,
            })
            .filter_map(|ty| Some((ty.name.node.to_string(), fields_of(ty)?)))
            .collect();
        Self { types }
    }

    fn field(&self, parent: Option<&str>, name: &str) -> Option<&FieldShape> {
        self.types.get(parent?)?.get(name)
    }
}

fn fields_of(ty: &TypeDefinition) -> Option<HashMap<String, FieldShape>> {
    let fields = match &ty.kind {
        TypeKind::Object(object) => &object.fields,
        TypeKind::Interface(interface) => &interface.fields,
        _ => return None,
    };
    let shapes = fields.iter().map(|field| {
        let field = &field.node;
        let type_name = named_type(&field.ty.node.base);
        let connection = type_name.ends_with("Connection")
            && field.arguments.iter().any(|a| a.node.name.node == "first");
        let list = (matches!(field.ty.node.base, BaseType::List(_))
            && !ty.name.node.ends_with("Connection"))
        .then(|| list_items(&ty.name.node, &field.name.node));
        (
            field.name.node.to_string(),
            FieldShape {
                type_name,
                connection,
                list,
            },
        )
    });
    Some(shapes.collect())
}

fn named_type(base: &BaseType) -> String {
    match base {
        BaseType::Named(name) => name.to_string(),
        BaseType::List(inner) => named_type(&inner.base),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Mode {
    Data,
    Introspection,
}

/// Measures one operation, expanding each fragment once (memoised), so a document whose
/// fragments spread each other many times costs linear time here and saturates the sum.
struct Walker<'a> {
    shape: &'a SchemaShape,
    document: &'a ExecutableDocument,
    variables: &'a Variables,
    operation: Option<&'a OperationDefinition>,
    fragments: HashMap<(&'a str, Mode), Cost>,
    visiting: Vec<&'a str>,
}

impl<'a> Walker<'a> {
    fn operation(&mut self, operation: &'a OperationDefinition) -> Result<Cost, ApiError> {
        use async_graphql::parser::types::OperationType;
        self.operation = Some(operation);
        let root = match operation.ty {
            OperationType::Query => "Query",
            OperationType::Mutation => "Mutation",
            OperationType::Subscription => "Subscription",
        };
        self.selection_set(&operation.selection_set.node, Some(root), Mode::Data)
    }

    fn selection_set(
        &mut self,
        set: &'a SelectionSet,
        parent: Option<&'a str>,
        mode: Mode,
    ) -> Result<Cost, ApiError> {
        let mut cost = Cost::default();
        for item in &set.items {
            let item_cost = match &item.node {
                Selection::Field(field) => self.field(&field.node, parent, mode)?,
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), mode)?
                }
                Selection::InlineFragment(inline) => {
                    let inline = &inline.node;
                    let on = inline
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str())
                        .or(parent);
                    self.selection_set(&inline.selection_set.node, on, mode)?
                }
            };
            cost = cost.beside(item_cost);
        }
        Ok(cost)
    }

    fn fragment(&mut self, name: &'a str, mode: Mode) -> Result<Cost, ApiError> {
        if let Some(cost) = self.fragments.get(&(name, mode)) {
            return Ok(*cost);
        }
        let Some(fragment) = self.document.fragments.get(name) else {
            return Ok(Cost::default());
        };
        if self.visiting.contains(&name) {
            return Err(ApiError::validation(
                "query",
                format!("the fragment {name} spreads itself"),
            ));
        }
        self.visiting.push(name);
        let on = fragment.node.type_condition.node.on.node.as_str();
        let cost = self.selection_set(&fragment.node.selection_set.node, Some(on), mode);
        self.visiting.pop();
        let cost = cost?;
        self.fragments.insert((name, mode), cost);
        Ok(cost)
    }

    fn field(
        &mut self,
        field: &'a async_graphql::parser::types::Field,
        parent: Option<&'a str>,
        mode: Mode,
    ) -> Result<Cost, ApiError> {
        let name = field.name.node.as_str();
        let alias = u64::from(field.alias.is_some());
        let children = &field.selection_set.node;
        if name == "__typename" {
            return Ok(Cost {
                aliases: alias,
                ..Cost::default()
            });
        }
        if mode == Mode::Introspection || name == "__schema" || name == "__type" {
            let child_type = match name {
                "__schema" => Some("__Schema"),
                _ => None,
            };
            let inner = self.selection_set(children, child_type, Mode::Introspection)?;
            let list = usize::from(INTROSPECTION_LISTS.contains(&name));
            return Ok(Cost {
                depth: 0,
                complexity: 0,
                aliases: inner.aliases.saturating_add(alias),
                introspection_lists: inner.introspection_lists + list,
                introspection: true,
            });
        }
        let shape = self.shape.field(parent, name);
        let inner =
            self.selection_set(children, shape.map(|s| s.type_name.as_str()), Mode::Data)?;
        let multiplier = match shape {
            Some(shape) if shape.connection => self.page_size(field),
            Some(FieldShape {
                list: Some(items), ..
            }) => *items,
            _ => 1,
        };
        Ok(Cost {
            depth: inner.depth + 1,
            complexity: inner
                .complexity
                .saturating_mul(multiplier)
                .saturating_add(1),
            aliases: inner.aliases.saturating_add(alias),
            introspection_lists: inner.introspection_lists,
            introspection: inner.introspection,
        })
    }

    /// `first` or `last` (the larger when both), from a literal, a variable or the variable's
    /// default; the default page size when neither is given or the value is not a count.
    fn page_size(&self, field: &async_graphql::parser::types::Field) -> u64 {
        ["first", "last"]
            .iter()
            .filter_map(|wanted| {
                let (_, value) = field
                    .arguments
                    .iter()
                    .find(|(name, _)| name.node == *wanted)?;
                let value = value
                    .node
                    .clone()
                    .into_const_with(|name| self.variable(&name).ok_or(()))
                    .ok()?;
                match value {
                    async_graphql::Value::Number(n) => n.as_u64(),
                    _ => None,
                }
            })
            .max()
            .unwrap_or(DEFAULT_PAGE_SIZE)
    }

    /// A variable's value: the request's, else the operation's default.
    fn variable(&self, name: &Name) -> Option<async_graphql::Value> {
        if let Some(value) = self.variables.get(name) {
            return Some(value.clone());
        }
        let definition = self
            .operation?
            .variable_definitions
            .iter()
            .find(|v| v.node.name.node == *name)?;
        Some(definition.node.default_value.as_ref()?.node.clone())
    }
}

/// What one request's execution may still build: bytes of response and time. Attached to a
/// request as data by the HTTP layer; without it the extension does nothing.
#[derive(Debug)]
pub struct Budget {
    max_bytes: usize,
    /// `None` for mutations: a write that committed is not answered with `TIMEOUT` ("nothing
    /// was changed") because its payload took long; the request's own deadline still holds.
    deadline: Option<Instant>,
    bytes: AtomicU64,
    spent: Mutex<Option<ApiError>>,
}

impl Budget {
    pub fn new(settings: &LimitSettings, mutation: bool) -> Self {
        Self {
            max_bytes: settings.max_response_bytes,
            deadline: (!mutation).then(|| Instant::now() + settings.request_timeout),
            bytes: AtomicU64::new(0),
            spent: Mutex::new(None),
        }
    }

    fn spent(&self) -> Option<ApiError> {
        self.spent
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn spend(&self, why: ApiError) -> ApiError {
        let mut spent = self.spent.lock().unwrap_or_else(PoisonError::into_inner);
        spent.get_or_insert(why).clone()
    }

    /// Refuses to resolve one more position once the response is too large or time is up.
    fn check(&self) -> Result<(), ApiError> {
        if let Some(spent) = self.spent() {
            return Err(spent);
        }
        if self
            .deadline
            .is_some_and(|deadline| Instant::now() >= deadline)
        {
            return Err(self.spend(ApiError::Timeout(
                "the request ran out of time and was stopped; nothing was changed. Ask for less, or retry later".into(),
            )));
        }
        let bytes = self.bytes.load(Ordering::Relaxed);
        if bytes > self.max_bytes as u64 {
            return Err(self.spend(ApiError::ResponseTooLarge(format!(
                "the response grew past {0} bytes and was stopped; at most {0} are allowed: ask for smaller pages or fewer fields",
                self.max_bytes
            ))));
        }
        Ok(())
    }

    fn add(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// One position (a field or list item) held to the request's [`Budget`] by the schema's
/// extension ([`crate::execution`]): before it resolves it yields to the scheduler (so a
/// request that only builds in-memory values still lets its timeout fire) and is refused once
/// the budget is spent; its value then adds its approximate JSON size. The cost limits estimate
/// before execution; this bounds what actually runs, whatever the data holds.
pub(crate) struct FieldBudget<'a> {
    budget: &'a Budget,
    key: u64,
}

impl<'a> FieldBudget<'a> {
    /// `None` when the request carries no [`Budget`] (the websocket, tests of the schema).
    pub(crate) async fn start(
        ctx: &'a async_graphql::extensions::ExtensionContext<'_>,
        info: &async_graphql::extensions::ResolveInfo<'_>,
    ) -> async_graphql::ServerResult<Option<Self>> {
        let Some(budget) = ctx.data_opt::<Budget>() else {
            return Ok(None);
        };
        tokio::task::consume_budget().await;
        let key = match info.path_node.segment {
            async_graphql::QueryPathSegment::Index(_) => 1,
            async_graphql::QueryPathSegment::Name(name) => name.len() as u64 + 4,
        };
        budget.check().map_err(|err| {
            async_graphql::Error::from(err).into_server_error(info.field.name.pos)
        })?;
        Ok(Some(FieldBudget { budget, key }))
    }

    /// Adds the resolved value: a leaf's whole size, an object's or list's own brackets (its
    /// fields and items were added as they resolved). Only a composite value asks the registry
    /// whether its type is a scalar (`JSON`).
    pub(crate) fn finish(
        self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        return_type: &str,
        value: &Option<async_graphql::Value>,
    ) {
        use async_graphql::Value;
        let size = match value {
            Some(Value::Object(_) | Value::List(_)) if !is_leaf(ctx, return_type) => 2,
            Some(value) => json_size(value),
            None => 2,
        };
        self.budget.add(self.key + size);
    }
}

/// An operation that ran past its budget answers with the reason alone, as a request error:
/// what was built is dropped.
pub(crate) fn budget_spent(
    ctx: &async_graphql::extensions::ExtensionContext<'_>,
    response: async_graphql::Response,
) -> async_graphql::Response {
    match ctx.data_opt::<Budget>().and_then(Budget::spent) {
        Some(spent) => {
            let mut error = async_graphql::Error::from(spent).into_server_error(Default::default());
            error.locations.clear();
            async_graphql::Response::from_errors(vec![error])
        }
        None => response,
    }
}

/// Whether a field's type is a scalar or enum (its value is complete when it resolves), not an
/// object, interface or union (whose fields are counted as they resolve).
fn is_leaf(ctx: &async_graphql::extensions::ExtensionContext<'_>, return_type: &str) -> bool {
    let name = return_type.trim_matches(|c| matches!(c, '[' | ']' | '!'));
    matches!(
        ctx.schema_env.registry.types.get(name),
        Some(
            async_graphql::registry::MetaType::Scalar { .. }
                | async_graphql::registry::MetaType::Enum { .. }
        )
    )
}

/// About the bytes `value` takes in the JSON response.
fn json_size(value: &async_graphql::Value) -> u64 {
    use async_graphql::Value;
    match value {
        Value::Null => 4,
        Value::Boolean(_) => 5,
        Value::Number(_) => 12,
        Value::String(text) => text.len() as u64 + 2,
        Value::Enum(name) => name.len() as u64 + 2,
        Value::Binary(bytes) => bytes.len() as u64 * 2,
        Value::List(items) => items.iter().map(|item| json_size(item) + 1).sum::<u64>() + 2,
        Value::Object(fields) => {
            fields
                .iter()
                .map(|(name, item)| name.len() as u64 + 4 + json_size(item))
                .sum::<u64>()
                + 2
        }
    }
}

/// A token bucket per key (an API client, or a source address for failed authentication):
/// `burst` requests at once, refilled at `rate` per second. In memory, so each replica limits
/// on its own (N replicas allow N times the rate).
pub struct RateLimiter<K = Uuid> {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<K, Bucket>>,
    refusals: AtomicU64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Buckets kept before full (idle) ones are dropped; a full bucket is the same as none.
const PRUNE_ABOVE: usize = 10_000;

impl<K: Eq + std::hash::Hash> RateLimiter<K> {
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Mutex::new(HashMap::new()),
            refusals: AtomicU64::new(0),
        }
    }

    /// How long until `key`'s bucket holds a request again, when it is empty now; takes
    /// nothing.
    pub fn empty(&self, key: &K) -> Option<Duration> {
        if self.rate <= 0.0 {
            return None;
        }
        let buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let tokens = buckets
            .get(key)?
            .refilled(Instant::now(), self.rate, self.burst);
        (tokens < 1.0).then(|| Duration::from_secs_f64((1.0 - tokens) / self.rate))
    }

    /// Takes one request from `client`'s bucket, or says how long until one is there.
    pub fn acquire(&self, client: K) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let now = Instant::now();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| b.refilled(now, rate, burst) < burst);
        }
        let bucket = buckets.entry(client).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        bucket.tokens = bucket.refilled(now, self.rate, self.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        self.refusals.fetch_add(1, Ordering::Relaxed);
        Err(Duration::from_secs_f64((1.0 - bucket.tokens) / self.rate))
    }

    /// Requests refused since start, for `/metrics`.
    pub fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }
}

impl Bucket {
    fn refilled(&self, now: Instant, rate: f64, burst: f64) -> f64 {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        (self.tokens + elapsed * rate).min(burst)
    }
}

/// Middleware: refuses a client over its rate with 429, `Retry-After` and
/// `extensions.retryAfterSeconds`. Runs after authentication (the bucket is the API client's);
/// requests without a principal (GraphiQL's page) pass.
pub async fn throttle(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    let Some(principal) = req.extensions().get::<Arc<Principal>>() else {
        return next.run(req).await;
    };
    let Err(wait) = limits.rate_limiter.acquire(principal.client_id) else {
        return next.run(req).await;
    };
    rate_limited(wait)
}

/// HTTP 429 `RATE_LIMITED` with `Retry-After` and `extensions.retryAfterSeconds`.
pub fn rate_limited(wait: Duration) -> Response {
    let seconds = wait.as_secs_f64().ceil().max(1.0) as u64;
    tracing::info!(retry_after = seconds, "request refused: rate limited");
    let err = ApiError::RateLimited {
        retry_after_secs: seconds,
    };
    let mut response = graphql_http::refusal(StatusCode::TOO_MANY_REQUESTS, &err);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// The address a request comes from: the last `X-Forwarded-For` entry when the settings trust
/// it (the one the load balancer appended; earlier entries are the caller's to invent), else
/// the connection's peer. `None` when neither is known (a server not started by
/// [`crate::server::serve`]).
pub fn source_address(req: &Request, trust_forwarded_for: bool) -> Option<IpAddr> {
    let forwarded = || {
        let header = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .next_back()?;
        header
            .to_str()
            .ok()?
            .rsplit(',')
            .next()?
            .trim()
            .parse()
            .ok()
    };
    if trust_forwarded_for && let Some(address) = forwarded() {
        return Some(address);
    }
    req.extensions()
        .get::<axum::extract::ConnectInfo<crate::shutdown::Peer>>()
        .map(|info| info.0.0.ip())
}

/// Middleware: answers 503 `TIMEOUT` when a request runs longer than the configured timeout.
/// The request's work is dropped: an open transaction rolls back, nothing is half-written.
pub async fn deadline(State(limits): State<Arc<Limits>>, req: Request, next: Next) -> Response {
    let timeout = limits.settings.request_timeout;
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => {
            limits.refusals.timed_out.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(timeout_ms = timeout.as_millis() as u64, "request timed out");
            graphql_http::refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                &ApiError::Timeout(format!(
                    "the request took longer than {} ms and was stopped; nothing was changed. Ask for less, or retry later",
                    timeout.as_millis()
                )),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::new(LimitSettings::default(), &crate::schema::sdl())
    }

    fn cost(query: &str, variables: serde_json::Value) -> Cost {
        let mut request =
            async_graphql::Request::new(query).variables(Variables::from_json(variables));
        limits()
            .cost(&mut request)
            .expect("measurable")
            .expect("parses")
    }

    #[test]
    fn connections_multiply_by_their_page_size() {
        let query = "{ projects(first: 50) { edges { node { id name } } } }";
        // projects 1 + 50 * (edges 1 + node 1 + 2 leaves)
        assert_eq!(cost(query, serde_json::json!({})).complexity, 1 + 50 * 4);
        let query = "query($n: Int = 7) { projects(first: $n) { nodes { id } } }";
        assert_eq!(cost(query, serde_json::json!({})).complexity, 1 + 7 * 2);
        assert_eq!(
            cost(query, serde_json::json!({"n": 3})).complexity,
            1 + 3 * 2
        );
        let query = "{ projects { nodes { id } } }";
        assert_eq!(
            cost(query, serde_json::json!({})).complexity,
            1 + DEFAULT_PAGE_SIZE * 2
        );
    }

    #[test]
    fn fragments_count_where_they_are_spread() {
        let query =
            "{ a: projects(first: 2) { nodes { ...P } } b: projects(first: 2) { nodes { ...P } } }
                     fragment P on Project { x: id name }";
        let cost = cost(query, serde_json::json!({}));
        assert_eq!(cost.aliases, 4);
        assert_eq!(cost.depth, 3);
        assert_eq!(cost.complexity, 2 * (1 + 2 * 3));
    }

    #[test]
    fn a_fragment_bomb_saturates_instead_of_exploding() {
        let mut query = String::from("{ ...F0 }\n");
        for i in 0..64 {
            query.push_str(&format!(
                "fragment F{i} on Query {{ a: projects {{ nodes {{ ...F{} }} }} }}\n",
                i + 1
            ));
        }
        query.push_str("fragment F64 on Query { __typename }\n");
        let mut request = async_graphql::Request::new(query);
        let limits = limits();
        let cost = limits.cost(&mut request).unwrap().unwrap();
        assert_eq!(cost.complexity, u64::MAX);
        assert!(limits.check(&mut request).is_err());
    }

    #[test]
    fn introspection_is_measured_apart() {
        let query = "{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } }";
        let cost = cost(query, serde_json::json!({}));
        assert_eq!((cost.depth, cost.complexity), (0, 0));
        assert_eq!(cost.introspection_lists, 1);
        assert!(cost.introspection);
        let nested =
            "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
        assert_eq!(
            super::tests::cost(nested, serde_json::json!({})).introspection_lists,
            3
        );
    }

    #[test]
    fn a_bucket_refills_at_the_rate() {
        let limiter = RateLimiter::new(1.0, 2);
        let client = Uuid::now_v7();
        assert!(limiter.acquire(client).is_ok());
        assert!(limiter.acquire(client).is_ok());
        let wait = limiter.acquire(client).unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(1));
        assert!(
            limiter.acquire(Uuid::now_v7()).is_ok(),
            "buckets are per client"
        );
        assert_eq!(limiter.refusals(), 1);
        assert!(RateLimiter::new(0.0, 1).acquire(client).is_ok(), "0 is off");
    }
}
