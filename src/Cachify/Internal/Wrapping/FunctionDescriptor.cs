using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace CachifyNet.Internal;

/// <summary>
/// What Cachify knows about a wrapped delegate, computed once at wrap time: its identity,
/// its parameters and whether its target (the <c>this</c> of an instance method or a closure) matters.
/// </summary>
internal sealed class FunctionDescriptor
{
    private static readonly ConcurrentDictionary<MethodInfo, FunctionDescriptor> Cache = new();

    private FunctionDescriptor(MethodInfo method)
    {
        Method = method;
        var parameters = method.GetParameters();
        ParameterNames = new string[parameters.Length];
        ParameterTypes = new Type[parameters.Length];
        for (var i = 0; i < parameters.Length; i++)
        {
            ParameterNames[i] = parameters[i].Name is { Length: > 0 } name ? name : "arg" + (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
            ParameterTypes[i] = parameters[i].ParameterType;
            if (ParameterTypes[i] == typeof(CancellationToken))
            {
                CancellationMask |= 1 << i;
            }
        }

        IsCompilerGenerated = IsGenerated(method);
        if (!method.IsStatic && method.DeclaringType is { } type && !IsStatelessClosure(type))
        {
            HasTarget = true;
            Closure = ClosurePlan.IsClosureClass(type) ? ClosurePlan.For(method) : null;
        }

        Identity = BuildIdentity(method, IsCompilerGenerated);
        DisplayName = TypeNames.Display(method);
    }

    /// <summary>The method the delegate calls (after unwrapping delegates of delegates).</summary>
    public MethodInfo Method { get; }

    /// <summary>
    /// Whether the delegate's target distinguishes entries: an instance method (keyed by the instance) or a
    /// closure with state (keyed by what it captured). False for static methods and lambdas that capture nothing.
    /// </summary>
    public bool HasTarget { get; }

    /// <summary>How the closure is keyed, when the method is a lambda or local function with captured variables.</summary>
    public ClosurePlan? Closure { get; }

    /// <summary>Whether the target holds an instance keyed by reference (an instance method, or a closure that captured <c>this</c> or a service).</summary>
    public bool TargetHasInstance => HasTarget && (Closure is null || Closure.CapturesInstance);

    /// <summary>The configuration of a plain wrapper of this function on the static defaults (shared by every such wrapper).</summary>
    internal WrapperConfig? StaticConfig;

    /// <summary>Parameter names in declaration order (used by <c>IgnoreArgs</c> and error messages).</summary>
    public string[] ParameterNames { get; }

    /// <summary>Parameter types in declaration order.</summary>
    public Type[] ParameterTypes { get; }

    /// <summary>Bit i is set when parameter i is a <see cref="CancellationToken"/> (never part of a key).</summary>
    public int CancellationMask { get; }

    /// <summary>True for lambdas and local functions, whose names the compiler may change between builds.</summary>
    public bool IsCompilerGenerated { get; }

    /// <summary>
    /// Stable text identity: declaring type, method, parameter types and result type; compiler-generated
    /// methods also carry the module version id, so an unnamed lambda never matches a lambda of another build.
    /// </summary>
    public string Identity { get; }

    /// <summary>
    /// Short human name for logs, metrics and errors, e.g. <c>UserRepository.GetUser</c>; a lambda or local function is named
    /// after the method that declares it (<c>WeatherService.GetForecast.lambda</c>, <c>WeatherService.GetForecast.Fetch</c>).
    /// </summary>
    public string DisplayName { get; }

    /// <summary>Describes the function <paramref name="func"/> calls and returns its target; throws for delegates that cannot be cached safely.</summary>
    public static FunctionDescriptor Create(Delegate func, out object? target)
    {
        ArgumentNullException.ThrowIfNull(func);
        if (DelegateIdentity.Find(func) is { } seen)
        {
            target = seen.HasTarget ? func.Target : null;
            return seen;
        }

        var (method, found) = Unwrap(func);
        var descriptor = Cache.TryGetValue(method, out var known) ? known : Cache.GetOrAdd(method, static m => new FunctionDescriptor(m));
        DelegateIdentity.Remember(func, descriptor);
        target = descriptor.HasTarget ? found : null;
        return descriptor;
    }

    private static (MethodInfo Method, object? Target) Unwrap(Delegate func)
    {
        var current = func;
        for (var depth = 0; ; depth++)
        {
            if (!current.HasSingleTarget)
            {
                throw new ArgumentException(
                    "The function is a multicast delegate (several methods combined with +=). Cachify caches one function; wrap a single method or lambda.",
                    nameof(func));
            }

            var target = current.Target;
            if (target is ICachedFunction)
            {
                throw new ArgumentException(
                    "The function is already a Cachify cached function. Use the cached function directly, or wrap the original function.",
                    nameof(func));
            }

            // A delegate built from another delegate's Invoke (e.g. new Func<int, int>(other.Invoke)) is that other delegate.
            if (target is Delegate inner && depth < 16 && current.Method.Name == "Invoke" && typeof(Delegate).IsAssignableFrom(current.Method.DeclaringType))
            {
                current = inner;
                continue;
            }

            return (current.Method, target);
        }
    }

    private static bool IsGenerated(MethodInfo method)
    {
        if (method.IsDefined(typeof(CompilerGeneratedAttribute), false) || method.Name.Contains('<', StringComparison.Ordinal))
        {
            return true;
        }

        for (var type = method.DeclaringType; type is not null; type = type.DeclaringType)
        {
            if (type.IsDefined(typeof(CompilerGeneratedAttribute), false))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The C# compiler gives non-capturing lambdas a shared instance of a field-less generated class.
    /// That instance carries no state, so it must not split entries (it is the same as a static method).
    /// </summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage(
        "Trimming",
        "IL2070",
        Justification = "A closure's fields are read by its lambda, so trimming keeps them; a field trimmed away is read by nothing and cannot change the function's result.")]
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "As above, for base classes.")]
    private static bool IsStatelessClosure(Type type)
    {
        if (!type.IsDefined(typeof(CompilerGeneratedAttribute), false))
        {
            return false;
        }

        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
        {
            if (t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly).Length > 0)
            {
                return false;
            }
        }

        return true;
    }

    private static string BuildIdentity(MethodInfo method, bool compilerGenerated)
    {
        var sb = new StringBuilder(128);
        sb.Append(TypeNames.Full(method.DeclaringType)).Append('.').Append(method.Name);
        if (method.IsGenericMethod)
        {
            sb.Append('<');
            var args = method.GetGenericArguments();
            for (var i = 0; i < args.Length; i++)
            {
                if (i > 0)
                {
                    sb.Append(',');
                }

                sb.Append(TypeNames.Full(args[i]));
            }

            sb.Append('>');
        }

        sb.Append('(');
        var parameters = method.GetParameters();
        for (var i = 0; i < parameters.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(',');
            }

            sb.Append(TypeNames.Full(parameters[i].ParameterType));
        }

        sb.Append(")->").Append(TypeNames.Full(method.ReturnType));
        if (compilerGenerated)
        {
            sb.Append('@').Append(method.Module.ModuleVersionId.ToString("N"));
        }

        return sb.ToString();
    }
}

/// <summary>
/// Finds the descriptor of a delegate without <see cref="Delegate.Method"/>, which resolves the method anew for every
/// delegate instance (on CoreCLR about 100 ns and 96 B): a lambda that captures variables, wrapped inline, brings a new
/// delegate at every call. A delegate's code pointers, with its target's type, stand for its method; the first delegate
/// seen with them takes the slow path, which records them. Only delegates with a single, plain target (not a delegate,
/// not a wrapper) are recorded, so the checks <see cref="FunctionDescriptor.Create"/> makes on others still run. Off on
/// runtimes without these fields (NativeAOT, Mono), where every delegate takes the slow path.
/// </summary>
internal static class DelegateIdentity
{
    private static readonly ConcurrentDictionary<(Type Target, nint Code, nint Aux), Seen> Known = new();
    private static bool s_off = !RuntimeFeature.IsDynamicCodeSupported;

    // The last one found (an entry of Known, so switching allocates nothing): a loop that wraps one lambda inline finds it without hashing.
    private static Seen? s_last;

    /// <summary>The descriptor recorded for <paramref name="func"/>'s method, or null.</summary>
    public static FunctionDescriptor? Find(Delegate func)
    {
        if (Volatile.Read(ref s_off) || KeyOf(func) is not { } key)
        {
            return null;
        }

        if (Volatile.Read(ref s_last) is { } last && last.Key == key)
        {
            return last.Descriptor;
        }

        if (!Known.TryGetValue(key, out var seen))
        {
            return null;
        }

        Volatile.Write(ref s_last, seen);
        return seen.Descriptor;
    }

    /// <summary>Records <paramref name="descriptor"/> as the one of <paramref name="func"/>'s method.</summary>
    public static void Remember(Delegate func, FunctionDescriptor descriptor)
    {
        if (!Volatile.Read(ref s_off) && KeyOf(func) is { } key)
        {
            Known.TryAdd(key, new Seen(key, descriptor));
        }
    }

    private sealed record Seen((Type Target, nint Code, nint Aux) Key, FunctionDescriptor Descriptor);

    private static (Type, nint, nint)? KeyOf(Delegate func)
    {
        if (!func.HasSingleTarget || func.Target is not { } target || target is Delegate || target is ICachedFunction)
        {
            return null;
        }

        try
        {
            return (target.GetType(), CodePointer(func), AuxPointer(func));
        }
        catch (MissingFieldException)
        {
            // A runtime whose delegates are laid out otherwise: Delegate.Method it is, for every delegate.
            Volatile.Write(ref s_off, true);
            return null;
        }
    }

    // CoreCLR's delegate fields: the code the delegate calls, and (for open static delegates) the method behind a shuffle thunk.
    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_methodPtr")]
    private static extern ref nint CodePointer(Delegate func);

    [UnsafeAccessor(UnsafeAccessorKind.Field, Name = "_methodPtrAux")]
    private static extern ref nint AuxPointer(Delegate func);
}
