//! The recording runtime the generated bindings call into.
//!
//! Every binding call appends one [`Op`] to the Program being recorded on the current thread (see
//! [`record`]) and returns a typed handle for its result. Handles are `Copy` ids; nothing is
//! evaluated in Rust: a string property such as an ALB's DNS name is a [`JsString`] that refers to
//! the operation's result and resolves to aws-cdk-lib's token in the shim.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::panic::Location;

use crate::program::{LiteralValue, Op, OpKind, Program, Site, Value};

thread_local! {
    static RECORDER: RefCell<Option<Program>> = const { RefCell::new(None) };
}

/// Records every binding call made by `build` into a fresh [`Program`].
///
/// # Panics
/// When called while another recording is active on this thread.
pub fn record<T>(build: impl FnOnce() -> T) -> (Program, T) {
    RECORDER.with(|r| {
        let mut slot = r.borrow_mut();
        assert!(
            slot.is_none(),
            "cdk_from_rust::record called while a recording is already active"
        );
        let mut program = Program::new();
        program.packages = crate::generated::PACKAGES
            .iter()
            .map(|(name, version)| (name.to_string(), version.to_string()))
            .collect();
        *slot = Some(program);
    });
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            RECORDER.with(|r| r.borrow_mut().take());
        }
    }
    let reset = Reset;
    let value = build();
    let program = RECORDER
        .with(|r| r.borrow_mut().take())
        .expect("recording is active");
    drop(reset);
    (program, value)
}

/// Marks an `App` to be synthesized after the Program is replayed.
pub fn synthesize(app: &impl JsObject) {
    with_program(|p| p.synth.push(app.handle().0));
}

fn with_program<R>(f: impl FnOnce(&mut Program) -> R) -> R {
    RECORDER.with(|r| {
        let mut slot = r.borrow_mut();
        let program = slot.as_mut().expect(
            "an aws-cdk-lib binding was called outside cdk_from_rust::record(..): \
             construct programs must be built inside a recording",
        );
        f(program)
    })
}

fn push(kind: OpKind, location: &'static Location<'static>) -> Handle {
    with_program(|p| {
        let id = p.ops.len() as u32;
        p.ops.push(Op {
            id,
            kind,
            site: Site::from_location(location),
        });
        Handle(id)
    })
}

/// The id of an operation's result.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(pub u32);

/// A typed view of an operation's result: a class instance, an interface, or a value.
pub trait JsObject: Copy {
    /// The operation whose result this is.
    fn handle(&self) -> Handle;
    /// A typed view of the result of `handle`. The caller vouches for the type.
    fn from_handle(handle: Handle) -> Self;
}

/// Conversion of a binding argument into a Program [`Value`].
pub trait ToValue {
    fn to_value(&self) -> Value;
}

/// A generated method's argument: `v` converted to the parameter type `T`, then to its wire value.
/// One call per argument keeps the generated bodies to a single expression.
#[doc(hidden)]
#[inline]
#[track_caller]
pub fn arg<T: ToValue>(v: impl Into<T>) -> Value {
    v.into().to_value()
}

/// A generated method's arguments: the fixed ones, then each of its variadic parameter's.
#[doc(hidden)]
pub fn args_then<const N: usize>(
    fixed: [Value; N],
    rest: impl Iterator<Item = Value>,
) -> Vec<Value> {
    let mut args = Vec::from(fixed);
    args.extend(rest);
    args
}

/// Results of operations: what a `get`, `call` or `static` op returns in Rust.
pub trait FromRef {
    fn from_ref(handle: Handle) -> Self;
}

impl<T: JsObject> FromRef for T {
    fn from_ref(handle: Handle) -> Self {
        T::from_handle(handle)
    }
}

impl FromRef for () {
    fn from_ref(_: Handle) -> Self {}
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::undefined(),
        }
    }
}

impl<T: ToValue> ToValue for Box<T> {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Vec<T> {
    fn to_value(&self) -> Value {
        Value::Array(self.iter().map(ToValue::to_value).collect())
    }
}

impl<T: ToValue> ToValue for BTreeMap<String, T> {
    fn to_value(&self) -> Value {
        Value::Object(
            self.iter()
                .map(|(k, v)| (k.clone(), v.to_value()))
                .collect(),
        )
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Recording helpers used by the generated code.

/// Records `new fqn(...args)`.
#[track_caller]
pub fn new_op<R: FromRef>(fqn: &str, args: Vec<Value>) -> R {
    R::from_ref(push(
        OpKind::New {
            fqn: fqn.to_string(),
            args: trim(args),
        },
        Location::caller(),
    ))
}

/// Records `target.method(...args)`.
#[track_caller]
pub fn call_op<R: FromRef>(target: Handle, method: &str, args: Vec<Value>) -> R {
    R::from_ref(push(
        OpKind::Call {
            target: target.0,
            method: method.to_string(),
            args: trim(args),
        },
        Location::caller(),
    ))
}

/// Records `target.property`.
#[track_caller]
pub fn get_op<R: FromRef>(target: Handle, property: &str) -> R {
    get_op_at(target, property, Location::caller())
}

/// [`get_op`] recorded at `site` (for a caller that records several ops at its own caller's
/// line).
fn get_op_at<R: FromRef>(target: Handle, property: &str, site: &'static Location<'static>) -> R {
    R::from_ref(push(
        OpKind::Get {
            target: target.0,
            property: property.to_string(),
        },
        site,
    ))
}

/// Records `fqn.method(...args)`.
#[track_caller]
pub fn static_op<R: FromRef>(fqn: &str, method: &str, args: Vec<Value>) -> R {
    R::from_ref(push(
        OpKind::Static {
            fqn: fqn.to_string(),
            method: method.to_string(),
            args: trim(args),
        },
        Location::caller(),
    ))
}

/// Records `fqn.property`.
#[track_caller]
pub fn static_get_op<R: FromRef>(fqn: &str, property: &str) -> R {
    R::from_ref(push(
        OpKind::StaticGet {
            fqn: fqn.to_string(),
            property: property.to_string(),
        },
        Location::caller(),
    ))
}

/// Drops trailing `undefined` arguments, so an omitted optional argument is really omitted.
fn trim(mut args: Vec<Value>) -> Vec<Value> {
    while matches!(args.last(), Some(Value::Undefined(_))) {
        args.pop();
    }
    args
}

/// Builds the JSON object of a struct (jsii datatype); `None` fields are left out.
#[derive(Default)]
pub struct ObjectBuilder(BTreeMap<String, Value>);

impl ObjectBuilder {
    pub fn new() -> Self {
        ObjectBuilder::default()
    }
    pub fn field(&mut self, key: &str, value: &impl ToValue) {
        self.0.insert(key.to_string(), value.to_value());
    }
    pub fn opt<T: ToValue>(&mut self, key: &str, value: &Option<T>) {
        if let Some(v) = value {
            self.0.insert(key.to_string(), v.to_value());
        }
    }
    pub fn build(self) -> Value {
        Value::Object(self.0)
    }
}

/// Collects an iterator of convertible items into a `Vec` (used by generated setters).
pub fn collect<T, I: Into<T>>(items: impl IntoIterator<Item = I>) -> Vec<T> {
    items.into_iter().map(Into::into).collect()
}

/// Collects `(key, value)` pairs into a sorted map (used by generated setters).
pub fn collect_map<T, K: Into<String>, I: Into<T>>(
    items: impl IntoIterator<Item = (K, I)>,
) -> BTreeMap<String, T> {
    items
        .into_iter()
        .map(|(k, v)| (k.into(), v.into()))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Primitive values: literals from Rust, or tokens (results of operations) from aws-cdk-lib.

macro_rules! primitive {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq)]
        pub struct $name(Value);

        impl $name {
            /// The Program value.
            pub fn value(&self) -> &Value {
                &self.0
            }
            /// The operation this value is the result of, if it is not a literal.
            pub fn as_ref_handle(&self) -> Option<Handle> {
                match &self.0 {
                    Value::Ref(r) => Some(Handle(r.id)),
                    _ => None,
                }
            }
        }

        impl ToValue for $name {
            fn to_value(&self) -> Value {
                self.0.clone()
            }
        }

        impl FromRef for $name {
            fn from_ref(handle: Handle) -> Self {
                $name(Value::reference(handle.0))
            }
        }

        impl From<&$name> for $name {
            fn from(v: &$name) -> Self {
                v.clone()
            }
        }
    };
}

primitive!(
    /// A jsii `string`: a Rust literal, or a token produced by aws-cdk-lib (e.g. `alb.load_balancer_dns_name()`).
    JsString
);
primitive!(
    /// A jsii `number`: a Rust literal, or a numeric token produced by aws-cdk-lib.
    JsNumber
);
primitive!(
    /// A jsii `boolean`.
    JsBool
);
primitive!(
    /// A jsii `any`, `json` or `date`, or a value of a type the bindings do not model
    /// (a struct or enum returned by a method): arbitrary JSON, or an operation's result.
    JsAny
);

impl JsString {
    /// The literal text, when this string is not a token.
    pub fn as_literal(&self) -> Option<&str> {
        match &self.0 {
            Value::String(s) => Some(s),
            _ => None,
        }
    }
}

impl From<&str> for JsString {
    fn from(s: &str) -> Self {
        JsString(Value::String(s.to_string()))
    }
}
impl From<String> for JsString {
    fn from(s: String) -> Self {
        JsString(Value::String(s))
    }
}
impl From<&String> for JsString {
    fn from(s: &String) -> Self {
        JsString(Value::String(s.clone()))
    }
}

macro_rules! number_from {
    ($($t:ty),*) => {$(
        impl From<$t> for JsNumber {
            fn from(n: $t) -> Self {
                JsNumber(Value::number(n as f64))
            }
        }
    )*};
}
number_from!(u8, u16, u32, u64, usize, i8, i16, i32, i64, f32, f64);

impl From<bool> for JsBool {
    fn from(b: bool) -> Self {
        JsBool(Value::Bool(b))
    }
}

impl From<serde_json::Value> for JsAny {
    /// Arbitrary JSON, passed through as it is.
    fn from(json: serde_json::Value) -> Self {
        JsAny(Value::Literal(LiteralValue { json }))
    }
}
impl From<&str> for JsAny {
    fn from(s: &str) -> Self {
        JsAny(Value::String(s.to_string()))
    }
}
impl From<String> for JsAny {
    fn from(s: String) -> Self {
        JsAny(Value::String(s))
    }
}
impl From<&String> for JsAny {
    fn from(s: &String) -> Self {
        JsAny(Value::String(s.clone()))
    }
}
impl From<bool> for JsAny {
    /// `true` where jsii takes `any` (a context value, a CloudFormation property override).
    fn from(b: bool) -> Self {
        JsAny(Value::Bool(b))
    }
}
macro_rules! any_from_number {
    ($($t:ty),*) => {$(
        impl From<$t> for JsAny {
            fn from(n: $t) -> Self {
                JsAny(Value::number(n as f64))
            }
        }
    )*};
}
any_from_number!(u8, u16, u32, u64, usize, i8, i16, i32, i64, f32, f64);
impl From<JsString> for JsAny {
    fn from(s: JsString) -> Self {
        JsAny(s.0)
    }
}
impl From<JsNumber> for JsAny {
    fn from(n: JsNumber) -> Self {
        JsAny(n.0)
    }
}
impl From<JsBool> for JsAny {
    fn from(b: JsBool) -> Self {
        JsAny(b.0)
    }
}

/// The keys the Program's wire format reserves in objects (see [`Value`]).
const RESERVED_KEYS: [&str; 4] = ["$ref", "$enum", "$literal", "$undefined"];

impl JsAny {
    /// Any object handle, as an `any` value.
    pub fn object(object: &impl JsObject) -> Self {
        JsAny(Value::reference(object.handle().0))
    }

    /// A JSON object whose values may be tokens produced by aws-cdk-lib (an ARN, a name), where
    /// jsii takes `any` or `json`: a policy condition, a CloudFormation property. Nested objects
    /// and lists are built with [`JsAny::map`] and [`JsAny::list`], plain JSON parts with
    /// `JsAny::from(serde_json::json!(..))`.
    ///
    /// ```text
    /// JsAny::map([("elasticfilesystem:AccessPointArn", access_point.access_point_arn())])
    /// ```
    ///
    /// Panics (naming the caller's line) on a key the wire format reserves (`$ref`, `$enum`,
    /// `$literal`, `$undefined`) or an object whose only key starts with `$`: the shim would
    /// read those as its own forms; wrap such data in `JsAny::from(json!(..))` instead.
    #[track_caller]
    pub fn map<K: Into<String>, V: Into<JsAny>>(entries: impl IntoIterator<Item = (K, V)>) -> Self {
        let map: BTreeMap<String, Value> = entries
            .into_iter()
            .map(|(k, v)| (k.into(), v.into().0))
            .collect();
        let reserved: Vec<&String> = map
            .keys()
            .filter(|k| {
                RESERVED_KEYS.contains(&k.as_str()) || (map.len() == 1 && k.starts_with('$'))
            })
            .collect();
        assert!(
            reserved.is_empty(),
            "JsAny::map: key(s) {reserved:?} are reserved by the Program's wire format ($ref, $enum, $literal, $undefined, or a lone key starting with $); pass such data as literal JSON with JsAny::from(serde_json::json!(..))"
        );
        JsAny(Value::Object(map))
    }

    /// A JSON list whose elements may be tokens (see [`JsAny::map`]).
    pub fn list<V: Into<JsAny>>(items: impl IntoIterator<Item = V>) -> Self {
        JsAny(Value::Array(
            items.into_iter().map(|v| v.into().0).collect(),
        ))
    }
    /// Reads a property of this value (a struct returned by a method, say).
    #[track_caller]
    pub fn get(&self, property: &str) -> JsAny {
        match self.as_ref_handle() {
            Some(h) => get_op(h, property),
            None => panic!("JsAny::get({property:?}) on a literal value; only results of operations have properties"),
        }
    }
}

/// Declares a typed handle to a result of aws-cdk-lib whose Rust type is generic over what it
/// holds (`JsArray<T>`, `JsOptional<T>`, `JsMap<T>`, `StructRef<S>`): `Copy`, compared and
/// printed by its op id, passed on as a reference (also as a [`JsAny`]).
macro_rules! typed_handle {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        pub struct $name<T> {
            handle: Handle,
            item: PhantomData<fn() -> T>,
        }

        impl<T> Clone for $name<T> {
            fn clone(&self) -> Self {
                *self
            }
        }
        impl<T> Copy for $name<T> {}

        impl<T> std::fmt::Debug for $name<T> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, concat!(stringify!($name), "(#{})"), self.handle.0)
            }
        }

        impl<T> PartialEq for $name<T> {
            fn eq(&self, other: &Self) -> bool {
                self.handle == other.handle
            }
        }

        impl<T> JsObject for $name<T> {
            fn handle(&self) -> Handle {
                self.handle
            }
            fn from_handle(handle: Handle) -> Self {
                $name {
                    handle,
                    item: PhantomData,
                }
            }
        }

        impl<T> ToValue for $name<T> {
            fn to_value(&self) -> Value {
                Value::reference(self.handle.0)
            }
        }

        impl<T> From<$name<T>> for JsAny {
            fn from(v: $name<T>) -> JsAny {
                JsAny(v.to_value())
            }
        }
    };
}

typed_handle!(
    /// An array produced by aws-cdk-lib (e.g. `vpc.private_subnets()`).
    ///
    /// Its length is not known while the Program is recorded (aws-cdk-lib computes it when the
    /// Program is replayed), so it has no `len()` and no iterator: [`JsArray::at`] reads one element,
    /// and [`JsArray::length`] is the length as a token (for outputs and other props). An index out
    /// of range fails the replay with an error naming the Rust line of the `at` call.
    JsArray
);

impl<T: FromRef> JsArray<T> {
    /// The element at `index` (recorded as a property read, resolved in the shim).
    #[track_caller]
    pub fn at(&self, index: usize) -> T {
        get_op(self.handle, &index.to_string())
    }
    /// The number of elements, as a numeric token resolved in the shim.
    #[track_caller]
    pub fn length(&self) -> JsNumber {
        get_op(self.handle, "length")
    }

    /// The elements, for a list whose length the caller knows (two private subnets for
    /// `maxAzs: 2`): a `Vec` to iterate in Rust. The replay checks the length is exactly `len`
    /// and otherwise fails at this line, saying how many elements aws-cdk-lib made, so a Rust
    /// loop never silently misses or invents an element.
    #[track_caller]
    pub fn expect_len(&self, len: usize) -> Vec<T> {
        let site = Location::caller();
        let checked = push(
            OpKind::Length {
                target: self.handle.0,
                length: u32::try_from(len).expect("a list length fits in u32"),
            },
            site,
        );
        (0..len)
            .map(|i| get_op_at(checked, &i.to_string(), site))
            .collect()
    }
}

/// A list argument or field: items given in Rust ([`JsList::Items`]), or an array aws-cdk-lib
/// made ([`JsList::Array`], e.g. `vpc.private_subnets()`), passed on as it is. Every generated
/// list parameter and struct field takes one through [`ListArg`], so a `Vec`, an array, any
/// iterator of convertible items and a [`JsArray`] are all accepted where TypeScript takes a list.
#[derive(Clone, Debug, PartialEq)]
pub enum JsList<T> {
    /// Items known while recording.
    Items(Vec<T>),
    /// An array produced by aws-cdk-lib (a token list, resolved at replay).
    Array(JsArray<T>),
}

impl<T: ToValue> ToValue for JsList<T> {
    fn to_value(&self) -> Value {
        match self {
            JsList::Items(items) => items.to_value(),
            JsList::Array(array) => array.to_value(),
        }
    }
}

impl<T, A: Into<T>> From<Vec<A>> for JsList<T> {
    fn from(items: Vec<A>) -> Self {
        JsList::Items(collect(items))
    }
}

impl<T, U: Into<T>> From<JsArray<U>> for JsList<T> {
    fn from(array: JsArray<U>) -> Self {
        JsList::Array(JsArray::from_handle(array.handle))
    }
}

/// What a list parameter accepts: anything iterable whose items convert into `T` (a `Vec`, an
/// array, an iterator), or a [`JsArray`] of items that convert into `T` (an array from
/// aws-cdk-lib, passed as a reference; the conversion is the same upcast as for one item).
pub trait ListArg<T> {
    /// The list, as the generated code stores and passes it.
    fn into_list(self) -> JsList<T>;
}

impl<T, I> ListArg<T> for I
where
    I: IntoIterator,
    I::Item: Into<T>,
{
    fn into_list(self) -> JsList<T> {
        JsList::Items(collect(self))
    }
}

impl<T, U: Into<T>> ListArg<T> for JsArray<U> {
    fn into_list(self) -> JsList<T> {
        self.into()
    }
}

impl<T, U: Into<T>> ListArg<T> for &JsArray<U> {
    fn into_list(self) -> JsList<T> {
        (*self).into()
    }
}

typed_handle!(
    /// An optional result of aws-cdk-lib (a property or method jsii marks optional, such as
    /// `cluster.default_cloud_map_namespace()`): whether it is there is known only at replay, so the
    /// Rust code says what it relies on. [`JsOptional::expect`] gives the value, checked at replay:
    /// when aws-cdk-lib returned nothing, the replay fails at the `expect` line with its message (not
    /// at some later operation that used it). Passed on as it is (`JsAny::from`), `undefined` is
    /// allowed.
    JsOptional
);

impl<T: FromRef> JsOptional<T> {
    /// The value, which must be there: the replay checks it and otherwise fails at this line
    /// with `why` (say what makes it present, e.g. "the cluster is created with a Cloud Map
    /// namespace").
    #[track_caller]
    pub fn expect(&self, why: &str) -> T {
        T::from_ref(push(
            OpKind::Defined {
                target: self.handle.0,
                message: why.to_string(),
            },
            Location::caller(),
        ))
    }
}

typed_handle!(
    /// A struct (jsii datatype) produced by aws-cdk-lib: a method's or property's result, such as
    /// `vpc.select_subnets()`'s `SelectedSubnets`. Its fields are read one by one with the typed
    /// accessors of `S`'s generated `<S>Fields` type, which `StructRef<S>` derefs to
    /// (`selected.subnet_ids()`; each a property read, resolved at replay); it passes on where any
    /// value is taken ([`JsAny`]) as a reference.
    StructRef
);

/// A generated struct that aws-cdk-lib returns, with its typed field accessors: the generated
/// type [`StructRef<Self>`] derefs to. Implemented by `__struct_fields!` only.
///
/// # Safety
///
/// `Fields` must be a `#[repr(transparent)]` wrapper of `StructRef<Self>`.
#[doc(hidden)]
pub unsafe trait StructFields: Sized {
    type Fields;
}

impl<S: StructFields> std::ops::Deref for StructRef<S> {
    type Target = S::Fields;
    fn deref(&self) -> &S::Fields {
        // SAFETY: `S::Fields` is a `#[repr(transparent)]` wrapper of `StructRef<S>` (the trait's
        // contract, which `__struct_fields!` keeps), so the two have one layout.
        unsafe { &*(self as *const StructRef<S>).cast::<S::Fields>() }
    }
}

typed_handle!(
    /// A map (jsii `Map<string, T>`) produced by aws-cdk-lib: its entries are read by key.
    JsMap
);

impl<T: FromRef> JsMap<T> {
    /// The value under `key` (recorded as a property read, resolved in the shim).
    #[track_caller]
    pub fn get(&self, key: &str) -> T {
        get_op(self.handle, key)
    }
}

/// A handle for a type the bindings do not model (outside the generated allow-list).
/// Every generated handle converts into it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Opaque(Handle);

impl JsObject for Opaque {
    fn handle(&self) -> Handle {
        self.0
    }
    fn from_handle(handle: Handle) -> Self {
        Opaque(handle)
    }
}

impl ToValue for Opaque {
    fn to_value(&self) -> Value {
        Value::reference(self.0 .0)
    }
}

impl Opaque {
    /// The escape hatch: `new <fqn>(...args)` for a class that has no binding (a deprecated class
    /// the `.jsii` omits, such as `aws-cdk-lib.aws_elasticloadbalancingv2.IpTarget`, or a class of
    /// a module that is not bound). The shim resolves `fqn` in the installed JavaScript; an `fqn`
    /// that does not resolve fails the replay at this call's Rust line. Convert the result with
    /// [`Opaque::cast`]; arguments are [`JsAny`] (`"text".into()`, `5.into()`,
    /// `JsAny::object(&handle)`).
    #[track_caller]
    pub fn new_unbound(fqn: &str, args: impl IntoIterator<Item = JsAny>) -> Opaque {
        new_op(fqn, args.into_iter().map(|a| a.0).collect())
    }
    /// The escape hatch for methods: `object.method(...args)` for a method without a binding.
    #[track_caller]
    pub fn call_unbound(&self, method: &str, args: impl IntoIterator<Item = JsAny>) -> JsAny {
        call_op(self.0, method, args.into_iter().map(|a| a.0).collect())
    }
    /// Reads a property of the object.
    #[track_caller]
    pub fn get(&self, property: &str) -> JsAny {
        get_op(self.0, property)
    }
    /// Reinterprets the object as another handle type. The caller vouches for the type.
    pub fn cast<T: JsObject>(&self) -> T {
        T::from_handle(self.0)
    }
}

/// Declares a generated handle type's conversions: into each ancestor (base classes and
/// implemented interfaces) and into [`Opaque`], by value and by reference.
#[doc(hidden)]
#[macro_export]
macro_rules! __upcasts {
    ($from:ty => $($to:ty),* $(,)?) => {
        $(
            impl ::core::convert::From<$from> for $to {
                fn from(v: $from) -> $to {
                    <$to as $crate::runtime::JsObject>::from_handle($crate::runtime::JsObject::handle(&v))
                }
            }
            impl ::core::convert::From<&$from> for $to {
                fn from(v: &$from) -> $to {
                    <$to as $crate::runtime::JsObject>::from_handle($crate::runtime::JsObject::handle(v))
                }
            }
        )*
        impl ::core::convert::From<$from> for $crate::runtime::Opaque {
            fn from(v: $from) -> $crate::runtime::Opaque {
                <$crate::runtime::Opaque as $crate::runtime::JsObject>::from_handle($crate::runtime::JsObject::handle(&v))
            }
        }
        impl ::core::convert::From<&$from> for $crate::runtime::Opaque {
            fn from(v: &$from) -> $crate::runtime::Opaque {
                <$crate::runtime::Opaque as $crate::runtime::JsObject>::from_handle($crate::runtime::JsObject::handle(v))
            }
        }
        impl ::core::convert::From<&$from> for $from {
            fn from(v: &$from) -> $from {
                *v
            }
        }
        impl $crate::runtime::ToValue for $from {
            fn to_value(&self) -> $crate::program::Value {
                $crate::program::Value::reference($crate::runtime::JsObject::handle(self).0)
            }
        }
    };
}

/// Declares a generated root handle type (a class without a generated base, or an interface).
#[doc(hidden)]
#[macro_export]
macro_rules! __handle {
    ($name:ident) => {
        impl $crate::runtime::JsObject for $name {
            fn handle(&self) -> $crate::runtime::Handle {
                self.0
            }
            fn from_handle(handle: $crate::runtime::Handle) -> Self {
                $name(handle)
            }
        }
    };
    ($name:ident : $base:ty) => {
        impl $crate::runtime::JsObject for $name {
            fn handle(&self) -> $crate::runtime::Handle {
                $crate::runtime::JsObject::handle(&self.0)
            }
            fn from_handle(handle: $crate::runtime::Handle) -> Self {
                $name(<$base as $crate::runtime::JsObject>::from_handle(handle))
            }
        }
        impl ::core::ops::Deref for $name {
            type Target = $base;
            fn deref(&self) -> &$base {
                &self.0
            }
        }
    };
}

/// Declares the field accessors' type of a generated struct that aws-cdk-lib returns:
/// `StructRef<$struct>` derefs to `$fields`, whose (generated) methods read `self.0`.
#[doc(hidden)]
#[macro_export]
macro_rules! __struct_fields {
    ($(#[$doc:meta])* $struct:ident => $fields:ident) => {
        $(#[$doc])*
        #[repr(transparent)]
        pub struct $fields($crate::runtime::StructRef<$struct>);
        // SAFETY: `$fields` is a `#[repr(transparent)]` wrapper of `StructRef<$struct>`.
        unsafe impl $crate::runtime::StructFields for $struct {
            type Fields = $fields;
        }
    };
}

/// Declares a generated enum's conversion into `{"$enum": fqn, "member": ...}`.
#[doc(hidden)]
#[macro_export]
macro_rules! __enum {
    ($name:ident, $fqn:literal, { $($variant:ident => $member:literal),* $(,)? }) => {
        impl $crate::runtime::ToValue for $name {
            fn to_value(&self) -> $crate::program::Value {
                let member = match self {
                    $($name::$variant => $member,)*
                };
                $crate::program::Value::enum_member($fqn, member)
            }
        }
        impl ::core::convert::From<&$name> for $name {
            fn from(v: &$name) -> $name {
                *v
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_ops_with_call_sites_and_drops_trailing_undefined() {
        let (program, handle) = record(|| {
            let h: Opaque = new_op("aws-cdk-lib.App", vec![Value::undefined()]);
            let _: JsString = get_op(h.handle(), "account");
            h
        });
        assert_eq!(handle.handle(), Handle(0));
        assert_eq!(program.ops.len(), 2);
        assert_eq!(
            program.ops[0].kind,
            OpKind::New {
                fqn: "aws-cdk-lib.App".into(),
                args: vec![]
            }
        );
        assert!(
            program.ops[0].site.file.ends_with("runtime.rs"),
            "{:?}",
            program.ops[0].site
        );
    }

    #[test]
    #[should_panic(expected = "outside cdk_from_rust::record")]
    fn fails_when_a_binding_is_called_outside_a_recording() {
        let _: Opaque = new_op("aws-cdk-lib.App", vec![]);
    }

    #[test]
    fn a_panicking_recording_leaves_the_thread_ready_for_the_next() {
        let result = std::panic::catch_unwind(|| record(|| panic!("boom")));
        assert!(result.is_err());
        let (program, ()) = record(|| ());
        assert!(program.ops.is_empty());
    }

    #[test]
    fn a_struct_result_derefs_to_its_fields_which_read_its_own_handle() {
        struct Selected;
        crate::__struct_fields!(Selected => SelectedFields);
        impl SelectedFields {
            fn subnet_ids(&self) -> JsArray<JsString> {
                get_op(JsObject::handle(&self.0), "subnetIds")
            }
        }
        let (program, ()) = record(|| {
            let _other: Opaque = new_op("x.Vpc", vec![]);
            let selected: StructRef<Selected> = static_op("x.Vpc", "select", vec![]);
            let _ = selected.subnet_ids();
        });
        assert_eq!(
            program.ops[2].kind,
            OpKind::Get {
                target: 1,
                property: "subnetIds".into()
            }
        );
    }

    #[test]
    fn json_with_tokens_keeps_references_inside_objects_and_lists() {
        let (program, value) = record(|| {
            let arn: JsString = static_op("x.Y", "arn", vec![]);
            JsAny::map([
                ("Arn", JsAny::from(arn)),
                ("Plain", JsAny::from(serde_json::json!({"$ref": "data"}))),
                ("List", JsAny::list([JsAny::from("a"), JsAny::from(2)])),
            ])
        });
        assert_eq!(program.ops.len(), 1);
        let json = serde_json::to_value(&value.0).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "Arn": {"$ref": 0},
                "Plain": {"$literal": {"$ref": "data"}},
                "List": ["a", 2]
            })
        );
    }

    #[test]
    #[should_panic(expected = "reserved by the Program's wire format")]
    fn fails_json_with_tokens_on_a_reserved_key() {
        let _ = JsAny::map([("$ref", JsAny::from(1))]);
    }

    #[test]
    #[should_panic(expected = "[\"$custom\"] are reserved")]
    fn fails_json_with_tokens_on_a_lone_dollar_key() {
        let _ = JsAny::map([("$custom", JsAny::from(1))]);
    }

    #[test]
    fn a_list_argument_is_its_items_or_the_array_aws_cdk_lib_made() {
        fn take(list: impl ListArg<JsString>) -> Value {
            list.into_list().to_value()
        }
        let (_, (items, array, boxed)) = record(|| {
            let a: JsArray<JsString> = static_op("x.Y", "list", vec![]);
            (
                take(["a", "b"]),
                take(a),
                JsList::<JsString>::from(vec!["c"]).to_value(),
            )
        });
        assert_eq!(
            items,
            Value::Array(vec![Value::String("a".into()), Value::String("b".into())])
        );
        assert_eq!(array, Value::reference(0), "passed on as the array itself");
        assert_eq!(boxed, Value::Array(vec![Value::String("c".into())]));
    }

    #[test]
    fn struct_and_map_results_read_their_fields_as_property_gets() {
        struct Shape;
        let (program, ()) = record(|| {
            let s: StructRef<Shape> = static_op("x.Y", "shape", vec![]);
            let m: JsMap<JsString> = get_op(s.handle(), "tags");
            let _: JsString = m.get("team");
            assert_eq!(JsAny::from(s).0, Value::reference(0));
        });
        assert_eq!(
            program.ops[2].kind,
            OpKind::Get {
                target: 1,
                property: "team".into()
            }
        );
    }

    #[test]
    fn an_optional_result_is_checked_where_the_rust_code_relies_on_it() {
        let (program, value) = record(|| {
            let o: JsOptional<JsString> = static_op("x.Y", "maybe", vec![]);
            o.expect("Y always has one here")
        });
        assert_eq!(
            program.ops[1].kind,
            OpKind::Defined {
                target: 0,
                message: "Y always has one here".into()
            }
        );
        assert_eq!(value.value(), &Value::reference(1), "the checked value");
        let json = serde_json::to_value(&program.ops[1]).unwrap();
        assert_eq!(json["op"], "defined");
    }

    #[test]
    fn expect_len_checks_the_length_then_reads_each_element() {
        let (program, items) = record(|| {
            let a: JsArray<JsString> = static_op("x.Y", "list", vec![]);
            a.expect_len(2)
        });
        assert_eq!(items.len(), 2);
        assert_eq!(
            program.ops[1].kind,
            OpKind::Length {
                target: 0,
                length: 2
            }
        );
        for (i, op) in program.ops[2..].iter().enumerate() {
            assert_eq!(
                op.kind,
                OpKind::Get {
                    target: 1,
                    property: i.to_string()
                }
            );
            assert_eq!(
                op.site, program.ops[1].site,
                "every op at the caller's line"
            );
        }
        let json = serde_json::to_value(&program.ops[1]).unwrap();
        assert_eq!(json["op"], "length");
        assert_eq!(json["length"], 2);
    }

    #[test]
    fn array_elements_are_property_reads() {
        let (program, _) = record(|| {
            let a: JsArray<JsString> = static_op("x.Y", "list", vec![]);
            a.at(1)
        });
        assert_eq!(
            program.ops[1].kind,
            OpKind::Get {
                target: 0,
                property: "1".into()
            }
        );
    }
}
