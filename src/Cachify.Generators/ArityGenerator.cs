using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Text;

namespace Cachify.Generators;

/// <summary>
/// Generates, for 0 to <see cref="MaxArity"/> arguments: the wrappers <c>CachedFunc&lt;…&gt;</c> and
/// <c>AsyncCachedFunc&lt;…&gt;</c>, the <c>Cachify.Wrap</c> overloads, the typed keys and the invokers.
/// One template; the arities never diverge.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class ArityGenerator : IIncrementalGenerator
{
    public const int MaxArity = 8;

    private static readonly string[] Ordinals = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth"];

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        // The generator is referenced by Cachify and by Cachify.Redis; each gets only its own sources.
        var assemblyName = context.CompilationProvider.Select(static (compilation, _) => compilation.AssemblyName ?? string.Empty);
        context.RegisterSourceOutput(assemblyName, static (ctx, name) =>
        {
            if (name == "Cachify")
            {
                EmitCore(ctx);
            }
            else if (name == "Cachify.Redis")
            {
                EmitRedis(ctx);
            }
        });
    }

    private static void EmitCore(SourceProductionContext ctx)
    {
        var wrap = new StringBuilder();
        var extensions = new StringBuilder();
        for (var n = 0; n <= MaxArity; n++)
        {
            var a = new Arity(n);
            ctx.AddSource($"ArgsKey{n}.g.cs", SourceText.From(Key(a), Encoding.UTF8));
            ctx.AddSource($"Invokers{n}.g.cs", SourceText.From(Invokers(a), Encoding.UTF8));
            ctx.AddSource($"CachedFunc{n}.g.cs", SourceText.From(Wrapper(a, isAsync: false), Encoding.UTF8));
            ctx.AddSource($"AsyncCachedFunc{n}.g.cs", SourceText.From(Wrapper(a, isAsync: true), Encoding.UTF8));
            if (n < MaxArity)
            {
                ctx.AddSource($"CancellableCachedFunc{n}.g.cs", SourceText.From(Wrapper(a, isAsync: false, token: true), Encoding.UTF8));
                ctx.AddSource($"CancellableAsyncCachedFunc{n}.g.cs", SourceText.From(Wrapper(a, isAsync: true, token: true), Encoding.UTF8));
            }

            wrap.Append(WrapOverloads(a, "public static", string.Empty, "WrapDefaults.Static", "<see cref=\"Cachify.DefaultTtl\"/>", "<see cref=\"Cachify.DefaultBackend\"/>"));
            extensions.Append(WrapOverloads(a, "public static", "this ICachify cachify, ", "WrapDefaults.For(cachify)", "<see cref=\"ICachify.DefaultTtl\"/>", "<see cref=\"ICachify.Backend\"/>"));
        }

        ctx.AddSource("Cachify.Wrap.g.cs", SourceText.From(Header + $$"""
            namespace CachifyNet;

            public static partial class Cachify
            {
            {{wrap}}}

            """, Encoding.UTF8));

        ctx.AddSource("CachifyExtensions.g.cs", SourceText.From(Header + $$"""
            namespace CachifyNet;

            /// <summary>
            /// <c>Wrap</c> on an <see cref="ICachify"/> (the injectable entry point): the same overloads as
            /// <see cref="Cachify"/>, with the TTL and backend of that instance.
            /// </summary>
            public static class CachifyExtensions
            {
            {{extensions}}}

            """, Encoding.UTF8));
    }

    /// <summary>Cachify.Redis: <c>UseRedis()</c> for every wrapper type.</summary>
    private static void EmitRedis(SourceProductionContext ctx)
    {
        var methods = new StringBuilder();
        for (var n = 0; n <= MaxArity; n++)
        {
            var a = new Arity(n);
            methods.Append(UseRedis(a, isAsync: false));
            methods.Append(UseRedis(a, isAsync: true));
            if (n < MaxArity)
            {
                methods.Append(UseRedis(a, isAsync: false, token: true));
                methods.Append(UseRedis(a, isAsync: true, token: true));
            }
        }

        ctx.AddSource("RedisCachedFunctionExtensions.g.cs", SourceText.From(Header + $$"""
            namespace CachifyNet.Redis;

            /// <summary>
            /// <c>UseRedis()</c>: puts a cached function on the Redis backend set up by <see cref="CachifyRedis.Configure"/>,
            /// the counterpart of Python cachify's <c>rcache</c>.
            /// </summary>
            public static class RedisCachedFunctionExtensions
            {
            {{methods}}}

            """, Encoding.UTF8));
    }

    private static string UseRedis(Arity a, bool isAsync, bool token = false)
    {
        var name = (token ? "Cancellable" : string.Empty) + (isAsync ? "AsyncCachedFunc" : "CachedFunc");
        var self = $"{name}<{a.TypesWithResult}>";
        var kind = isAsync ? "asynchronous" : "synchronous";
        return $$"""
                /// <summary>
                /// Returns a wrapper of this {{kind}} function that keeps its entries in the Redis backend set up by
                /// <see cref="CachifyRedis.Configure"/>, or else registered by <c>AddCachifyRedis</c> in a started host
                /// (<see cref="CachifyRedis.Backend"/>). The backend is looked up at the wrapper's first call, so the wrapper
                /// may be created (for example in a static field) before setup runs, and again after that backend is disposed
                /// (<see cref="CachifyRedis.Reset"/>, a stopped host), so the wrapper follows the current setup.
                /// </summary>
            {{TypeParamDocs(a, isAsync ? "The type of the task's result." : "The type of the result.").Replace("/// ", "    /// ")}}    /// <param name="cached">The cached function.</param>
                /// <returns>A new wrapper; <paramref name="cached"/> is unchanged. An explicit <c>Backend(...)</c> set before is replaced.</returns>
                /// <exception cref="ArgumentNullException"><paramref name="cached"/> is null.</exception>
                /// <remarks>
                /// Options may come before or after <c>UseRedis()</c>: the final settings are checked at the first call, which throws
                /// <see cref="ArgumentException"/> when a parameter that is part of the key has no stable text form or the function's
                /// target is an instance (call <c>NoSelf</c>, <c>IgnoreArgs</c> or <c>KeyBy</c>, as the message says), and
                /// <see cref="InvalidOperationException"/> when no Redis backend is set up by then.
                /// </remarks>
                public static {{self}} UseRedis<{{a.TypesWithResult}}>(this {{self}} cached)
                {
                    ArgumentNullException.ThrowIfNull(cached);
                    return cached.WithConfig(CachifyNet.Redis.Internal.RedisKeyRules.UseRedis(cached.Config));
                }


            """;
    }

    private const string Header = """
        // <auto-generated>Generated by Cachify.Generators.ArityGenerator. Do not edit.</auto-generated>
        #nullable enable
        using System;
        using System.Collections.Generic;
        using System.Threading;
        using System.Threading.Tasks;
        using CachifyNet.Internal;


        """;

    private sealed class Arity
    {
        public Arity(int n)
        {
            N = n;
            var idx = Enumerable.Range(1, n).ToArray();
            Types = string.Join(", ", idx.Select(i => $"T{i}"));
            TypesWithResult = n == 0 ? "TResult" : Types + ", TResult";
            Generic = n == 0 ? string.Empty : $"<{Types}>";
            Params = string.Join(", ", idx.Select(i => $"T{i} arg{i}"));
            Args = string.Join(", ", idx.Select(i => $"arg{i}"));
            KeyType = n == 0 ? "ArgsKey" : $"ArgsKey<{Types}>";
            TupleType = n switch { 0 => "ValueTuple", 1 => "ValueTuple<T1>", _ => $"({Types})" };
            NewTuple = n switch { 0 => "default(ValueTuple)", 1 => "new ValueTuple<T1>(arg1)", _ => $"({Args})" };
            Indices = idx;
        }

        /// <summary>
        /// The arity N + 1 whose last argument is a <see cref="System.Threading.CancellationToken"/> named
        /// <c>cancellationToken</c>: the inside of a wrapper of a function with a trailing token.
        /// </summary>
        public Arity WithToken()
        {
            var t = new Arity(N + 1);
            t.Types = Lead(Types) + "CancellationToken";
            t.TypesWithResult = t.Types + ", TResult";
            t.Generic = $"<{t.Types}>";
            t.Params = Lead(Params) + "CancellationToken cancellationToken";
            t.Args = Lead(Args) + "cancellationToken";
            t.KeyType = $"ArgsKey<{t.Types}>";
            t.TupleType = N == 0 ? "ValueTuple<CancellationToken>" : $"({t.Types})";
            t.NewTuple = N == 0 ? "new ValueTuple<CancellationToken>(cancellationToken)" : $"({t.Args})";
            return t;
        }

        public int N { get; }
        public int[] Indices { get; }
        public string Types { get; private set; }
        public string TypesWithResult { get; private set; }
        public string Generic { get; private set; }
        public string Params { get; private set; }
        public string Args { get; private set; }
        public string KeyType { get; private set; }
        public string TupleType { get; private set; }
        public string NewTuple { get; private set; }

        public string Lead(string text) => N == 0 ? text : text + ", ";

        /// <summary>The delegate type of the wrapped function.</summary>
        public string FuncType(bool isAsync) => isAsync ? $"Func<{Lead(Types)}Task<TResult>>" : $"Func<{TypesWithResult}>";

        /// <summary>The argument tuple of an execution: the function, then the arguments.</summary>
        public string ArgsTupleType(bool isAsync) => N == 0 ? $"ValueTuple<{FuncType(isAsync)}>" : $"({FuncType(isAsync)}, {Types})";

        /// <summary>A new argument tuple from <c>_func</c> and the arguments.</summary>
        public string NewArgsTuple(bool isAsync) => N == 0 ? $"new ValueTuple<{FuncType(isAsync)}>(_func)" : $"(_func, {Args})";

        public string Trail(string text) => N == 0 ? text : ", " + text;
    }

    private static string Ordinal(int i) => Ordinals[i - 1];

    private static string TypeParamDocs(Arity a, string resultDoc)
    {
        var sb = new StringBuilder();
        foreach (var i in a.Indices)
        {
            sb.Append($"/// <typeparam name=\"T{i}\">The type of the {Ordinal(i)} argument.</typeparam>\n");
        }

        sb.Append($"/// <typeparam name=\"TResult\">{resultDoc}</typeparam>\n");
        return sb.ToString();
    }

    private static string ParamDocs(Arity a, string indent)
    {
        var sb = new StringBuilder();
        foreach (var i in a.Indices)
        {
            sb.Append($"{indent}/// <param name=\"arg{i}\">The {Ordinal(i)} argument.</param>\n");
        }

        return sb.ToString();
    }

    // ------------------------------------------------------------------ keys

    private static string Key(Arity a)
    {
        var fields = string.Concat(a.Indices.Select(i => $"    public readonly T{i} A{i};\n"));
        var assigns = string.Concat(a.Indices.Select(i => $"        A{i} = a{i};\n"));
        // A CancellationToken is never part of a key (its slot always holds default): skipped by Equals and GetHashCode,
        // which saves hashing the token's source on every hit. typeof(T) == typeof(CancellationToken) folds at JIT time.
        var equals = a.N == 0
            ? "true"
            : string.Join(" && ", a.Indices.Select(i => $"(typeof(T{i}) == typeof(CancellationToken) || EqualityComparer<T{i}>.Default.Equals(A{i}, other.A{i}))"));
        var hash = a.N switch
        {
            0 => "0",
            1 => "KeyHash.Of(A1)",
            _ => $"HashCode.Combine({string.Join(", ", a.Indices.Select(i => $"KeyHash.Of(A{i})"))})",
        };
        var writes = string.Concat(a.Indices.Select(i => $"        writer.Write({i - 1}, A{i});\n"));
        var refArgs = string.Concat(a.Indices.Select(i => $"        if ((mask & {1 << (i - 1)}) != 0 && (object?)A{i} is {{ }} a{i})\n        {{\n            return a{i};\n        }}\n\n"));
        var ctor = a.N == 0 ? string.Empty : "\n    public ArgsKey(" + string.Join(", ", a.Indices.Select(i => $"T{i} a{i}"))
            + ")\n    {\n" + assigns + "    }\n";
        return Header + $$"""
            namespace CachifyNet.Internal;

            /// <summary>
            /// The typed key of a function of {{a.N}} argument(s): its key-relevant arguments (ignored ones hold default). No target:
            /// a wrapper whose target is part of its keys uses <see cref="TargetedKey{TKey}"/> of this key.
            /// </summary>
            [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
            internal readonly struct {{a.KeyType}} : IArgsKey<{{a.KeyType}}>
            {
            {{fields}}{{ctor}}
                public TargetKey? Target => null;

                public object? ReferenceArgument(int mask)
                {
            {{refArgs}}        return null;
                }

                public bool Equals({{a.KeyType}} other) => {{equals}};

                public override bool Equals(object? obj) => obj is {{a.KeyType}} other && Equals(other);

                public override int GetHashCode() => {{hash}};

                public void WriteText(KeyTextWriter writer)
                {
            {{writes}}    }
            }

            """;
    }

    // ------------------------------------------------------------------ invokers

    private static string Invokers(Arity a)
    {
        var call = string.Join(", ", a.Indices.Select(i => $"Arg(Mask, {i - 1}, args.Item{i + 1}, shared)"));
        var tokens = string.Concat(a.Indices.Select(i => $"        token = Token(Mask, {i - 1}, args.Item{i + 1}, token);\n"));
        var mask = a.N == 0 ? "0" : string.Join(" | ", a.Indices.Select(i => $"(typeof(T{i}) == typeof(CancellationToken) ? {1 << (i - 1)} : 0)"));
        var cls = a.N == 0 ? string.Empty : a.Types + ", ";
        return Header + $$"""
            namespace CachifyNet.Internal;

            /// <summary>Calls the function carried first in the argument tuple, so a binding (shared by wrappers of one function) holds no delegate.</summary>
            internal sealed class SyncInvoker<{{cls}}TResult>() : Invoker<{{a.ArgsTupleType(false)}}, TResult>(Mask)
            {
                private static readonly int Mask = {{mask}};

                public static readonly SyncInvoker<{{a.TypesWithResult}}> Instance = new();

                public override bool IsAsync => false;

                public override TResult Invoke(in {{a.ArgsTupleType(false)}} args, CancellationToken shared) => args.Item1({{call}});

                public override CancellationToken ArgumentToken(in {{a.ArgsTupleType(false)}} args)
                {
                    var token = default(CancellationToken);
            {{tokens}}        return token;
                }
            }

            /// <summary>The asynchronous counterpart of <see cref="SyncInvoker{{{a.Lead(a.Types)}}TResult}"/>.</summary>
            internal sealed class AsyncInvoker<{{cls}}TResult>() : Invoker<{{a.ArgsTupleType(true)}}, TResult>(Mask)
            {
                private static readonly int Mask = {{mask}};

                public static readonly AsyncInvoker<{{a.TypesWithResult}}> Instance = new();

                public override bool IsAsync => true;

                public override Task<TResult> InvokeAsync(in {{a.ArgsTupleType(true)}} args, CancellationToken shared)
                    => args.Item1({{call}}) ?? throw new InvalidOperationException("The cached function returned a null Task instead of a task.");

                public override CancellationToken ArgumentToken(in {{a.ArgsTupleType(true)}} args)
                {
                    var token = default(CancellationToken);
            {{tokens}}        return token;
                }
            }

            """;
    }

    // ------------------------------------------------------------------ Cachify.Wrap

    private static string WrapOverloads(Arity a, string modifiers, string receiver, string defaults, string ttlDoc, string backendDoc)
    {
        var docs = ParamTypeDocsForWrap(a);
        var receiverDoc = receiver.Length == 0 ? string.Empty : "    /// <param name=\"cachify\">The entry point whose defaults the wrapper uses.</param>\n";
        return $$"""
                /// <summary>Wraps a synchronous function of {{a.N}} argument(s) into a cached function (TTL {{ttlDoc}}, backend {{backendDoc}}).</summary>
            {{docs}}    /// <typeparam name="TResult">The type of the result.</typeparam>
            {{receiverDoc}}    /// <param name="func">The function to cache.</param>
                /// <returns>The cached function; configure it further with its fluent options.</returns>
                /// <exception cref="ArgumentNullException"><paramref name="func"/> is null.</exception>
                /// <exception cref="ArgumentException">
                /// <paramref name="func"/> is a multicast delegate or already a cached function, or <typeparamref name="TResult"/> is a task
                /// (<see cref="Task"/>, <see cref="Task{TResult}"/>, <see cref="ValueTask"/>, <see cref="ValueTask{TResult}"/>), which this
                /// overload would cache as an object, faults included: use the overload for functions returning <see cref="Task{TResult}"/>.
                /// </exception>
                {{modifiers}} CachedFunc<{{a.TypesWithResult}}> Wrap<{{a.TypesWithResult}}>({{receiver}}Func<{{a.TypesWithResult}}> func)
                    => CachedFunc<{{a.TypesWithResult}}>.Create(func, WrapperConfig.CreateSync<TResult>(func, {{defaults}}));

                /// <summary>Wraps an asynchronous function of {{a.N}} argument(s) into a cached function (TTL {{ttlDoc}}, backend {{backendDoc}}).</summary>
            {{docs}}    /// <typeparam name="TResult">The type of the task's result.</typeparam>
            {{receiverDoc}}    /// <param name="func">The function to cache.</param>
                /// <returns>The cached function; configure it further with its fluent options.</returns>
                /// <exception cref="ArgumentNullException"><paramref name="func"/> is null.</exception>
                /// <exception cref="ArgumentException"><paramref name="func"/> is a multicast delegate or already a cached function.</exception>
                {{modifiers}} AsyncCachedFunc<{{a.TypesWithResult}}> Wrap<{{a.TypesWithResult}}>({{receiver}}Func<{{a.Lead(a.Types)}}Task<TResult>> func)
                    => AsyncCachedFunc<{{a.TypesWithResult}}>.Create(func, WrapperConfig.Create(func, {{defaults}}));


            """ + (a.N < MaxArity ? TokenWrapOverloads(a, modifiers, receiver, defaults, ttlDoc, backendDoc) : string.Empty);
    }

    /// <summary>
    /// The overloads for functions whose last parameter is a <see cref="System.Threading.CancellationToken"/>. C# picks them
    /// over the overloads of arity N + 1 (their parameter types are more specific), so a lambda
    /// <c>(int id, CancellationToken ct) =&gt; …</c> gets a wrapper whose <c>Invoke</c> takes the token once.
    /// </summary>
    private static string TokenWrapOverloads(Arity a, string modifiers, string receiver, string defaults, string ttlDoc, string backendDoc)
    {
        var docs = ParamTypeDocsForWrap(a);
        var receiverDoc = receiver.Length == 0 ? string.Empty : "    /// <param name=\"cachify\">The entry point whose defaults the wrapper uses.</param>\n";
        var k = a.WithToken();
        return $$"""
                /// <summary>
                /// Wraps a synchronous function of {{a.N}} argument(s) and a trailing <see cref="CancellationToken"/> into a cached function
                /// (TTL {{ttlDoc}}, backend {{backendDoc}}). The token is not part of the key; <c>Invoke</c> takes the caller's token.
                /// </summary>
            {{docs}}    /// <typeparam name="TResult">The type of the result.</typeparam>
            {{receiverDoc}}    /// <param name="func">The function to cache.</param>
                /// <returns>The cached function; configure it further with its fluent options.</returns>
                /// <exception cref="ArgumentNullException"><paramref name="func"/> is null.</exception>
                /// <exception cref="ArgumentException">
                /// <paramref name="func"/> is a multicast delegate or already a cached function, or <typeparamref name="TResult"/> is a task,
                /// which this overload would cache as an object: use the overload for functions returning <see cref="Task{TResult}"/>.
                /// </exception>
                {{modifiers}} CancellableCachedFunc<{{a.TypesWithResult}}> Wrap<{{a.TypesWithResult}}>({{receiver}}{{k.FuncType(false)}} func)
                    => CancellableCachedFunc<{{a.TypesWithResult}}>.Create(func, WrapperConfig.CreateSync<TResult>(func, {{defaults}}));

                /// <summary>
                /// Wraps an asynchronous function of {{a.N}} argument(s) and a trailing <see cref="CancellationToken"/> into a cached function
                /// (TTL {{ttlDoc}}, backend {{backendDoc}}). The token is not part of the key; <c>Invoke</c> takes the caller's token, and the
                /// function receives a token cancelled only when every caller waiting for the execution has cancelled.
                /// </summary>
            {{docs}}    /// <typeparam name="TResult">The type of the task's result.</typeparam>
            {{receiverDoc}}    /// <param name="func">The function to cache.</param>
                /// <returns>The cached function; configure it further with its fluent options.</returns>
                /// <exception cref="ArgumentNullException"><paramref name="func"/> is null.</exception>
                /// <exception cref="ArgumentException"><paramref name="func"/> is a multicast delegate or already a cached function.</exception>
                {{modifiers}} CancellableAsyncCachedFunc<{{a.TypesWithResult}}> Wrap<{{a.TypesWithResult}}>({{receiver}}{{k.FuncType(true)}} func)
                    => CancellableAsyncCachedFunc<{{a.TypesWithResult}}>.Create(func, WrapperConfig.Create(func, {{defaults}}));


            """;
    }

    private static string ParamTypeDocsForWrap(Arity a)
        => string.Concat(a.Indices.Select(i => $"    /// <typeparam name=\"T{i}\">The type of the {Ordinal(i)} argument.</typeparam>\n"));

    // ------------------------------------------------------------------ wrappers

    private const string TokenParamDoc =
        "The caller's token. It stops this caller's wait; the function receives the shared execution's token, which is cancelled " +
        "only when every caller waiting for the execution has cancelled (one caller giving up never cancels the work the others wait for), " +
        "or at the timeout. The token is not part of the key.";

    private static string Wrapper(Arity a, bool isAsync, bool token = false)
    {
        // A token wrapper (the function's last parameter is a CancellationToken) shows the key arguments only and takes the
        // caller's token once; inside it is the wrapper of arity N + 1 whose last argument is that token (same key type,
        // argument tuple and invoker, so it shares bindings and entries with a plain wrapper of the same function).
        var k = token ? a.WithToken() : a;
        var name = (token ? "Cancellable" : string.Empty) + (isAsync ? "AsyncCachedFunc" : "CachedFunc");
        var self = $"{name}<{a.TypesWithResult}>";
        var funcType = k.FuncType(isAsync);
        var keyByType = $"Func<{a.Lead(a.Types)}string>";
        var argsTuple = k.ArgsTupleType(isAsync);
        var bindingType = $"Binding<{k.KeyType}, {argsTuple}, TResult>";
        var invoker = isAsync ? "AsyncInvoker" : "SyncInvoker";
        var textBindingType = $"Binding<StringKey, {argsTuple}, TResult>";
        var keyArgs = string.Join(", ", a.Indices.Select(i => $"(binding.KeyMask & {1 << (i - 1)}) != 0 ? arg{i} : default!")
            .Concat(token ? ["default(CancellationToken)"] : Enumerable.Empty<string>()));
        var targetedKeyType = $"TargetedKey<{k.KeyType}>";
        var targetBindingType = $"Binding<{targetedKeyType}, {argsTuple}, TResult>";
        var rawArgs = string.Join(", ", a.Indices.Select(i => $"arg{i}").Concat(token ? ["default(CancellationToken)"] : Enumerable.Empty<string>()));
        var newTuple = k.NewArgsTuple(isAsync);
        var syncTokenParam = token ? ", CancellationToken cancellationToken" : string.Empty;
        var syncTokenArg = token ? ", cancellationToken" : string.Empty;
        var paramDocs = ParamDocs(a, "    ");
        var resultDoc = isAsync ? "The type of the task's result." : "The type of the result.";
        var kind = isAsync ? "asynchronous" : "synchronous";
        var args = a.Args;
        var trailArgs = a.Trail(a.Args);
        var tokenDoc = token
            ? TokenParamDoc
            : "Stops this caller's wait. The shared execution goes on for the other callers and is cached; a <see cref=\"CancellationToken\"/> parameter of the function is cancelled only when every caller has cancelled (and none took a stale value at its soft timeout: the execution then goes on for the store).";
        var syncTokenDoc = token ? $"    /// <param name=\"cancellationToken\">{TokenParamDoc}</param>\n" : string.Empty;
        var syncTokenDefault = token ? ", CancellationToken cancellationToken = default" : string.Empty;

        var invoke = isAsync
            ? $$"""
                /// <summary>Returns the cached result for these arguments, or runs the function (once for all concurrent callers of the same arguments) and caches its result.</summary>
            {{paramDocs}}    /// <param name="skipCache">True to run the function now even if a result is cached (after any running execution for these arguments ends), return the fresh result and store it with a new TTL.</param>
                /// <param name="cancellationToken">{{tokenDoc}}</param>
                /// <returns>The result; a hit returns a completed task without allocating.</returns>
                public Task<TResult> Invoke({{a.Lead(a.Params)}}bool skipCache = false, CancellationToken cancellationToken = default)
                {
                    var binding = _binding;
                    if (binding is null)
                    {
                        return InvokeTargeted({{a.Lead(args)}}skipCache, cancellationToken);
                    }

                    var key = new {{k.KeyType}}({{keyArgs}});
                    if (!skipCache && binding.Keyspace.TryGetTask(in key, binding, out var task))
                    {
                        Telemetry.Hit(binding.Tags);
                        return task!;
                    }

                    return MissAsync(binding, in key{{trailArgs}}, skipCache, cancellationToken);
                }

                // A wrapper whose target is part of its keys (their key type holds it; the one above holds no reference), else
                // an unbound wrapper or one with text keys.
                [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
                private Task<TResult> InvokeTargeted({{a.Lead(a.Params)}}bool skipCache, CancellationToken cancellationToken)
                {
                    if (_other is not {{targetBindingType}} binding)
                    {
                        return InvokeUnbound({{a.Lead(args)}}skipCache, cancellationToken);
                    }

                    var key = new {{targetedKeyType}}(_self, new {{k.KeyType}}({{keyArgs}}));
                    if (!skipCache && binding.Keyspace.TryGetTask(in key, binding, out var task))
                    {
                        Telemetry.Hit(binding.Tags);
                        return task!;
                    }

                    return MissAsync(binding, in key{{trailArgs}}, skipCache, cancellationToken);
                }

                // Out of line: the hit path above keeps a small frame (no argument tuple to zero).
                [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
                // A binding whose backend was disposed (it holds no entries any more, so every call misses) binds again here,
                // off the hit path.
                private Task<TResult> MissAsync<TKey>(Binding<TKey, {{argsTuple}}, TResult> binding, in TKey key{{a.Trail(a.Params)}}, bool skipCache, CancellationToken cancellationToken)
                    where TKey : struct, IArgsKey<TKey>
                    => binding.IsStale
                        ? InvokeUnbound({{a.Lead(args)}}skipCache, cancellationToken)
                        : binding.Keyspace.InvokeAsync(key, {{newTuple}}, binding, skipCache, cancellationToken);

                // First call (binds), or a wrapper with text keys (KeyBy, or arguments keyed by content). Binding fails through the task.
                [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
                private Task<TResult> InvokeUnbound({{a.Lead(a.Params)}}bool skipCache, CancellationToken cancellationToken)
                {
                    bool typed;
                    try
                    {
                        typed = !HasLiveTextBinding() && Bind() != TextKeys;
                    }
                    catch (Exception error)
                    {
                        return Task.FromException<TResult>(error);
                    }

                    if (typed)
                    {
                        // A key that cannot be built (an argument's GetHashCode throws) throws from Invoke, as on every call.
                        return Invoke({{a.Lead(args)}}skipCache, cancellationToken);
                    }

                    var binding = TextBinding;
                    StringKey key;
                    try
                    {
                        key = TextKey(binding{{trailArgs}});
                    }
                    catch (Exception error)
                    {
                        return Task.FromException<TResult>(error);
                    }

                    if (!skipCache && binding.Keyspace.TryGetTask(in key, binding, out var task))
                    {
                        Telemetry.Hit(binding.Tags);
                        return task!;
                    }

                    return binding.Keyspace.InvokeAsync(key, {{newTuple}}, binding, skipCache, cancellationToken);
                }

                /// <summary>Removes the entry for these arguments, so the next call runs the function. An execution running now is not stored.</summary>
            {{paramDocs}}    /// <param name="cancellationToken">Cancels the removal (shared backends only).</param>
                /// <returns>A task that completes when the entry is removed.</returns>
                public ValueTask InvalidateAsync({{a.Lead(a.Params)}}CancellationToken cancellationToken = default)
                {
                    switch (Bound())
                    {
                        case PlainKeys:
                        {
                            var binding = _binding!;
                            return binding.Keyspace.RemoveAsync(new {{k.KeyType}}({{keyArgs}}), cancellationToken);
                        }

                        case TargetedKeys:
                        {
                            var binding = ({{targetBindingType}})_other!;
                            return binding.Keyspace.RemoveAsync(new {{targetedKeyType}}(_self, new {{k.KeyType}}({{keyArgs}})), cancellationToken);
                        }

                        default:
                        {
                            var text = TextBinding;
                            return text.Keyspace.RemoveAsync(TextKey(text{{trailArgs}}), cancellationToken);
                        }
                    }
                }

                /// <summary>Removes every entry of this function that this wrapper reads: those of wrappers with the same key settings and the same never-die setting. Executions running now are not stored.</summary>
                /// <param name="cancellationToken">Cancels the removal (shared backends only).</param>
                /// <returns>A task that completes when the entries are removed.</returns>
                public ValueTask ClearAsync(CancellationToken cancellationToken = default)
                    => (Bound() == PlainKeys ? _binding! : _other!).ClearAsync(cancellationToken);

            """
            : $$"""
                /// <summary>Returns the cached result for these arguments, or runs the function (once for all concurrent callers of the same arguments) and caches its result.</summary>
            {{paramDocs}}    /// <param name="skipCache">True to run the function now even if a result is cached (after any running execution for these arguments ends), return the fresh result and store it with a new TTL.</param>
            {{syncTokenDoc}}    /// <returns>The result.</returns>
                public TResult Invoke({{a.Lead(a.Params)}}bool skipCache = false{{syncTokenDefault}})
                {
                    var binding = _binding;
                    if (binding is null)
                    {
                        return InvokeTargeted({{a.Lead(args)}}skipCache{{syncTokenArg}});
                    }

                    var key = new {{k.KeyType}}({{keyArgs}});
                    if (!skipCache && binding.Keyspace.TryGet(in key, binding, out var value))
                    {
                        Telemetry.Hit(binding.Tags);
                        return value;
                    }

                    return Miss(binding, in key{{trailArgs}}, skipCache{{syncTokenArg}});
                }

                // A wrapper whose target is part of its keys (their key type holds it; the one above holds no reference), else
                // an unbound wrapper or one with text keys.
                [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
                private TResult InvokeTargeted({{a.Lead(a.Params)}}bool skipCache{{syncTokenParam}})
                {
                    if (_other is not {{targetBindingType}} binding)
                    {
                        return InvokeUnbound({{a.Lead(args)}}skipCache{{syncTokenArg}});
                    }

                    var key = new {{targetedKeyType}}(_self, new {{k.KeyType}}({{keyArgs}}));
                    if (!skipCache && binding.Keyspace.TryGet(in key, binding, out var value))
                    {
                        Telemetry.Hit(binding.Tags);
                        return value;
                    }

                    return Miss(binding, in key{{trailArgs}}, skipCache{{syncTokenArg}});
                }

                // Out of line: the hit path above keeps a small frame (no argument tuple to zero).
                [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
                // A binding whose backend was disposed (it holds no entries any more, so every call misses) binds again here,
                // off the hit path.
                private TResult Miss<TKey>(Binding<TKey, {{argsTuple}}, TResult> binding, in TKey key{{a.Trail(a.Params)}}, bool skipCache{{syncTokenParam}})
                    where TKey : struct, IArgsKey<TKey>
                    => binding.IsStale
                        ? InvokeUnbound({{a.Lead(args)}}skipCache{{syncTokenArg}})
                        : binding.Keyspace.Invoke(in key, {{newTuple}}, binding, skipCache);

                // First call (binds), or a wrapper with text keys (KeyBy, or arguments keyed by content).
                [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
                private TResult InvokeUnbound({{a.Lead(a.Params)}}bool skipCache{{syncTokenParam}})
                {
                    if (!HasLiveTextBinding() && Bind() != TextKeys)
                    {
                        return Invoke({{a.Lead(args)}}skipCache{{syncTokenArg}});
                    }

                    var binding = TextBinding;
                    var key = TextKey(binding{{trailArgs}});
                    if (!skipCache && binding.Keyspace.TryGet(in key, binding, out var value))
                    {
                        Telemetry.Hit(binding.Tags);
                        return value;
                    }

                    return binding.Keyspace.Invoke(in key, {{newTuple}}, binding, skipCache);
                }

            """;

        var asFuncBody = token
            ? $"({a.Lead(a.Args)}cancellationToken) => Invoke({a.Lead(a.Args)}false, cancellationToken)"
            : $"({a.Args}) => Invoke({a.Args})";
        var resultType = isAsync ? "Task<TResult>" : "TResult";
        var tokenOverload = !token ? string.Empty : $$$"""
                /// <summary>Returns the cached result for these arguments, or runs the function (once for all concurrent callers of the same arguments) and caches its result.</summary>
            {{{paramDocs}}}    /// <param name="cancellationToken">{{{TokenParamDoc}}}</param>
                /// <returns>The result.</returns>
                public {{{resultType}}} Invoke({{{a.Lead(a.Params)}}}CancellationToken cancellationToken) => Invoke({{{a.Lead(a.Args)}}}false, cancellationToken);

            """;
        var summary = token
            ? $"A cached {kind} function of {a.N} argument(s) and a trailing <see cref=\"CancellationToken\"/>, made by <see cref=\"Cachify\"/>.Wrap. The token is not part of the key: <c>Invoke</c> takes the caller's token once and passes it on, and <c>Invalidate</c> takes the key arguments only."
            : $"A cached {kind} function of {a.N} argument(s), made by <see cref=\"Cachify\"/>.Wrap.";

        return Header + $$"""
            namespace CachifyNet;

            /// <summary>
            /// {{summary}} Immutable and thread-safe:
            /// every option returns a new wrapper and leaves this one unchanged.
            /// </summary>
            {{TypeParamDocs(a, resultDoc)}}public sealed class {{self}} : ICachedFunction
            {
                private readonly {{funcType}} _func;
                private readonly WrapperConfig _config;
                private const int TextKeys = 0;
                private const int PlainKeys = 1;
                private const int TargetedKeys = 2;

                // The binding of a wrapper without a target in its keys (typed keys that hold no reference: the fastest hit).
                private {{bindingType}}? _binding;
                // Else the binding of a wrapper whose target is part of its keys ({{targetBindingType}}), or of one with text keys
                // ({{textBindingType}}). Which one is fixed by the wrapper's settings and backend; one field keeps the wrapper small.
                private IBinding? _other;
                private readonly TargetKey? _self;

                private {{name}}({{funcType}} func, WrapperConfig config, TargetKey? self)
                {
                    _func = func;
                    _config = config;

                    // The target's key is taken once, at wrap time, and passed on to wrappers derived from this one: a
                    // closure is keyed by the values it captured when it was wrapped (NoSelf and KeyBy drop it for good).
                    _self = config.KeyHasTarget ? self : null;
                    // A disposed backend fails at once; what the backend cannot key or store is checked when the wrapper binds
                    // (its first call, or host start for DI registrations), on its final settings, so options go in any order.
                    config.Backend?.Services.ThrowIfDisposed();
                }

                /// <summary>Returns a wrapper whose entries live for <paramref name="ttl"/>.</summary>
                /// <param name="ttl">The lifetime of an entry, from when it is stored. <see cref="Timeout.InfiniteTimeSpan"/> for entries that never expire.</param>
                /// <returns>A new wrapper; this one is unchanged.</returns>
                /// <exception cref="ArgumentOutOfRangeException"><paramref name="ttl"/> is zero, negative or longer than 365 days, or infinite on a never-die wrapper.</exception>
                public {{self}} Ttl(TimeSpan ttl) => Derive(_config.WithTtl(ttl));

                /// <summary>
                /// Returns a wrapper whose entries never expire: at each TTL the function runs again in the background and
                /// replaces the value; readers keep the old value meanwhile. A failed refresh keeps the last good value and is
                /// retried after TTL × 1.25ⁿ (at most 10 × TTL).
                /// </summary>
                /// <returns>A new wrapper; this one is unchanged.</returns>
                /// <exception cref="InvalidOperationException">The TTL is infinite.</exception>
                public {{self}} NeverDie() => Derive(_config.WithNeverDie(null));

                /// <summary>Like <see cref="NeverDie()"/>, but an entry nobody read for <paramref name="idleTimeout"/> stops being refreshed and is removed.</summary>
                /// <param name="idleTimeout">How long an entry may go unread before refreshing stops (checked at each refresh).</param>
                /// <returns>A new wrapper; this one is unchanged.</returns>
                /// <exception cref="ArgumentOutOfRangeException"><paramref name="idleTimeout"/> is not positive or longer than 365 days.</exception>
                /// <exception cref="InvalidOperationException">The TTL is infinite.</exception>
                public {{self}} NeverDie(TimeSpan idleTimeout) => Derive(_config.WithNeverDie(idleTimeout));

                /// <summary>Returns a wrapper whose keys leave out the named parameters (added to any already ignored).</summary>
                /// <param name="names">Parameter names of the wrapped function.</param>
                /// <returns>A new wrapper; this one is unchanged.</returns>
                /// <exception cref="ArgumentNullException"><paramref name="names"/> is null.</exception>
                /// <exception cref="ArgumentException">A name is empty or not a parameter of the function (the message lists the valid names).</exception>
                /// <exception cref="InvalidOperationException">The wrapper uses <see cref="KeyBy"/>.</exception>
                public {{self}} IgnoreArgs(params string[] names) => Derive(_config.WithIgnoredArgs(names));

                /// <summary>
                /// Returns a wrapper whose keys leave out the delegate's target (the instance of an instance method, or a
                /// lambda's closure), so all instances share entries.
                /// </summary>
                /// <returns>A new wrapper; this one is unchanged.</returns>
                /// <exception cref="InvalidOperationException">The wrapper uses <see cref="KeyBy"/>.</exception>
                public {{self}} NoSelf() => Derive(_config.WithNoSelf());

                /// <summary>
                /// Returns a wrapper whose key is the string <paramref name="key"/> computes from the arguments (the function
                /// identity stays part of the key). The key function alone decides what counts, instance included.
                /// </summary>
                /// <param name="key">Computes the key; must not return null.</param>
                /// <returns>A new wrapper; this one is unchanged.</returns>
                /// <exception cref="ArgumentNullException"><paramref name="key"/> is null.</exception>
                /// <exception cref="InvalidOperationException">The wrapper uses <see cref="IgnoreArgs"/> or <see cref="NoSelf"/>.</exception>
                public {{self}} KeyBy({{keyByType}} key) => Derive(_config.WithKeyBy(key));

                /// <summary>
                /// Returns a wrapper with an explicit, stable function identity, used instead of the method's. Needed to share
                /// entries of a lambda across processes and deployments (Redis).
                /// </summary>
                /// <param name="name">The identity, such as "users.get": 1 to 256 characters, no white space, ':', '~' or braces.</param>
                /// <returns>A new wrapper; this one is unchanged.</returns>
                /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
                /// <exception cref="ArgumentException"><paramref name="name"/> is empty, too long or contains a forbidden character.</exception>
                public {{self}} Named(string name) => Derive(_config.WithName(name));

                /// <summary>
                /// Returns a wrapper whose callers wait at most <paramref name="timeout"/> for an execution. Past it, every waiter
                /// gets a <see cref="TimeoutException"/>, the execution is abandoned (its result is not cached; a
                /// <see cref="CancellationToken"/> parameter is cancelled) and the next call starts a new one.
                /// </summary>
                /// <remarks>With a timeout, a synchronous function runs on the thread pool while its caller waits, so a hung function cannot hold the caller.</remarks>
                /// <param name="timeout">The longest wait, at most 365 days.</param>
                /// <returns>A new wrapper; this one is unchanged.</returns>
                /// <exception cref="ArgumentOutOfRangeException"><paramref name="timeout"/> is not positive, too long, or not longer than the soft timeout.</exception>
                public {{self}} Timeout(TimeSpan timeout) => Derive(_config.WithTimeout(timeout));

                /// <summary>
                /// Returns a wrapper whose callers, after waiting <paramref name="softTimeout"/> for an execution, get the key's last
                /// value if it is younger than <paramref name="maxStale"/> (even past its TTL). The execution goes on and stores its result.
                /// Expired entries are kept until <paramref name="maxStale"/> for this purpose.
                /// </summary>
                /// <param name="softTimeout">How long a caller waits before it takes a stale value.</param>
                /// <param name="maxStale">The oldest value served this way, measured from when it was stored; usually longer than the TTL.</param>
                /// <returns>A new wrapper; this one is unchanged.</returns>
                /// <exception cref="ArgumentOutOfRangeException">A duration is not positive or too long, or <paramref name="softTimeout"/> is not shorter than the timeout.</exception>
                public {{self}} SoftTimeout(TimeSpan softTimeout, TimeSpan maxStale) => Derive(_config.WithSoftTimeout(softTimeout, maxStale));

                /// <summary>Returns a wrapper that keeps its entries in <paramref name="backend"/>.</summary>
                /// <param name="backend">The backend, such as a <see cref="MemoryCacheBackend"/> or a Redis backend.</param>
                /// <returns>A new wrapper; this one is unchanged.</returns>
                /// <exception cref="ArgumentNullException"><paramref name="backend"/> is null.</exception>
                /// <exception cref="ObjectDisposedException">The backend was disposed.</exception>
                /// <remarks>
                /// Whether the backend can key and store this function as configured is checked when the wrapper binds (its first
                /// call), on its final settings: options may come before or after this one, and what the backend refuses throws an
                /// <see cref="ArgumentException"/> that says how to fix it. The defaults the wrapper does not override (such as
                /// <see cref="Cachify.DefaultTtl"/>) are also read then.
                /// </remarks>
                public {{self}} Backend(ICacheBackend backend) => Derive(_config.WithBackend(backend));

            {{invoke}}{{tokenOverload}}
                /// <summary>Removes the entry for these arguments, so the next call runs the function. An execution running now is not stored.</summary>
            {{paramDocs}}    public void Invalidate({{a.Params}})
                {
                    switch (Bound())
                    {
                        case PlainKeys:
                        {
                            var binding = _binding!;
                            binding.Keyspace.Remove(new {{k.KeyType}}({{keyArgs}}));
                            return;
                        }

                        case TargetedKeys:
                        {
                            var binding = ({{targetBindingType}})_other!;
                            binding.Keyspace.Remove(new {{targetedKeyType}}(_self, new {{k.KeyType}}({{keyArgs}})));
                            return;
                        }

                        default:
                        {
                            var text = TextBinding;
                            text.Keyspace.Remove(TextKey(text{{trailArgs}}));
                            return;
                        }
                    }
                }

                /// <summary>Removes every entry of this function that this wrapper reads: those of wrappers with the same key settings and the same never-die setting. Executions running now are not stored.</summary>
                public void Clear()
                {
                    (Bound() == PlainKeys ? _binding! : _other!).Clear();
                }

                /// <summary>Returns the cached function as a plain delegate (the same instance on every call).</summary>
                /// <returns>A delegate that calls <c>Invoke</c> without skipping the cache.</returns>
                public {{funcType}} AsFunc() => AsFuncs.GetValue(this, static self => self.MakeFunc());

                private {{funcType}} MakeFunc() => {{asFuncBody}};

                // Kept beside the wrappers, not in them: a field would make every wrapper 8 B larger, one made inline at each call too.
                private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<{{self}}, {{funcType}}> AsFuncs = new();

                /// <summary>Converts the cached function to a plain delegate, for fields and APIs that take one.</summary>
                /// <param name="cached">The cached function.</param>
                [return: System.Diagnostics.CodeAnalysis.NotNullIfNotNull(nameof(cached))]
                public static implicit operator {{funcType}}?({{self}}? cached) => cached?.AsFunc();

                /// <summary>The binding of a wrapper without a target in its keys, once bound (tests and the soak read its keyspace).</summary>
                internal {{bindingType}}? CurrentBinding => _binding;

                /// <summary>The binding of a wrapper whose target is part of its keys, once bound.</summary>
                internal {{targetBindingType}}? CurrentTargetedBinding => _other as {{targetBindingType}};

                /// <summary>The key of the wrapper's target, or null (tests build keys with it).</summary>
                internal TargetKey? Self => _self;

                /// <summary>A new wrapper of <paramref name="func"/>, keyed by its target when it has one.</summary>
                internal static {{self}} Create({{funcType}} func, WrapperConfig config)
                {
                    if (config.Function.HasTarget)
                    {
                        return new(func, config, config.KeyHasTarget ? TargetKeys.Of(func, config.Function) : null);
                    }

                    // A function without a target (a static method, a lambda that captures nothing: its delegate is cached by
                    // the compiler) gets the same wrapper for the same settings, so wrapping it inline allocates nothing.
                    if (config.LastWrapper is {{self}} last && ReferenceEquals(last._func, func))
                    {
                        return last;
                    }

                    var made = new {{self}}(func, config, null);
                    config.LastWrapper = made;
                    return made;
                }

                /// <summary>This wrapper with other settings (an option): shared for functions without a target, as in <see cref="Create"/>.</summary>
                private {{self}} Derive(WrapperConfig config) => _self is null && !config.Function.HasTarget ? Create(_func, config) : new(_func, config, _self);

                /// <summary>The typed binding, made now if the wrapper was not called yet (tests that need its keyspace before a call).</summary>
                internal {{bindingType}} EnsureBound()
                    => Bound() == PlainKeys ? _binding! : throw new InvalidOperationException("This wrapper has text keys, or its target is part of its keys (EnsureTargetedBound).");

                /// <summary>The typed binding of a wrapper whose target is part of its keys, made now if the wrapper was not called yet.</summary>
                internal {{targetBindingType}} EnsureTargetedBound()
                    => Bound() == TargetedKeys ? ({{targetBindingType}})_other! : throw new InvalidOperationException("This wrapper has text keys, or no target in its keys (EnsureBound).");

                /// <summary>Binds the wrapper now (typed or text keys), throwing what its backend refuses; DI validates registrations at start with it.</summary>
                internal void BindNow() => _ = Bound();

                /// <summary>The wrapper's settings (backends that pick themselves, such as <c>UseRedis()</c>, read them).</summary>
                internal WrapperConfig Config => _config;

                /// <summary>A wrapper of the same function with other settings.</summary>
                internal {{self}} WithConfig(WrapperConfig config) => new(_func, config, _self);

                /// <summary>Binds the wrapper unless it is bound to a live backend; returns which binding it has (<see cref="PlainKeys"/>, <see cref="TargetedKeys"/> or <see cref="TextKeys"/>).</summary>
                private int Bound()
                {
                    if (_binding is { IsStale: false })
                    {
                        return PlainKeys;
                    }

                    var other = Volatile.Read(ref _other);
                    if (other is { IsStale: false })
                    {
                        return other is {{textBindingType}} ? TextKeys : TargetedKeys;
                    }

                    return Bind();
                }

                /// <summary>Whether the wrapper is bound with text keys to a backend that is not disposed.</summary>
                private bool HasLiveTextBinding() => _other is {{textBindingType}} { IsStale: false };

                /// <summary>The text binding (set when <see cref="HasLiveTextBinding"/> was true, or <see cref="Bind"/> returned <see cref="TextKeys"/>).</summary>
                private {{textBindingType}} TextBinding => ({{textBindingType}})_other!;

                private StringKey TextKey({{textBindingType}} binding{{a.Trail(a.Params)}})
                    => _config.KeyBy is { } keyBy
                        ? new(null, (({{keyByType}})keyBy)({{args}}) ?? throw KeyErrors.KeyByReturnedNull(binding.Name))
                        : new(_self, KeyTextWriter.Encode(new {{k.KeyType}}({{rawArgs}}), binding.KeyMask, binding.Keyspace.Services.WritesKeysAsText ? KeyJson.ObjectText : KeyRules.MemoryObjectText));

                /// <summary>
                /// Binds the wrapper (see <see cref="BindingFactory"/>); returns which binding it made (as <see cref="Bound"/>). A binding whose
                /// backend was disposed is replaced: a wrapper whose backend comes from its defaults (<c>UseRedis()</c>, an
                /// <see cref="ICachify"/>) follows the backend configured now; one with a disposed explicit backend throws.
                /// </summary>
                private int Bind()
                {
                    var backend = BindingFactory.BackendOf(_config);
                    if (BindingFactory.UsesTextKeys(_config, backend))
                    {
                        var text = BindingFactory.Create<StringKey, {{argsTuple}}, TResult>(_config, backend, {{invoker}}<{{k.TypesWithResult}}>.Instance, text: true);
                        Replace<IBinding>(ref _other, text);
                        Volatile.Write(ref _binding, null);
                        return TextKeys;
                    }

                    // Fixed by the settings: a wrapper keyed by its target (an instance, or a closure's captured values) has keys
                    // that hold the target's key; every other wrapper has keys of its arguments alone.
                    if (_config.KeyHasTarget)
                    {
                        var targeted = BindingFactory.Create<{{targetedKeyType}}, {{argsTuple}}, TResult>(_config, backend, {{invoker}}<{{k.TypesWithResult}}>.Instance, text: false);
                        Replace<IBinding>(ref _other, targeted);
                        return TargetedKeys;
                    }

                    var binding = BindingFactory.Create<{{k.KeyType}}, {{argsTuple}}, TResult>(_config, backend, {{invoker}}<{{k.TypesWithResult}}>.Instance, text: false);
                    Replace(ref _binding, binding);
                    return PlainKeys;
                }

                /// <summary>Sets <paramref name="field"/> unless a concurrent first call already set it to a live binding (the first one wins).</summary>
                private static void Replace<TBinding>(ref TBinding? field, TBinding binding)
                    where TBinding : class, IBinding
                {
                    var seen = Volatile.Read(ref field);
                    while (seen is null || seen.IsStale)
                    {
                        var raced = Interlocked.CompareExchange(ref field, binding, seen);
                        if (ReferenceEquals(raced, seen))
                        {
                            return;
                        }

                        seen = raced;
                    }
                }
            }

            """;
    }
}
