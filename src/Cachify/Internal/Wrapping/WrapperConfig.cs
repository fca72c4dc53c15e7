using System.Globalization;

namespace CachifyNet.Internal;

/// <summary>
/// The immutable settings of one wrapper. Every fluent option returns a validated copy, so errors
/// surface at configure time and a partially configured chain can be reused safely.
/// </summary>
internal sealed class WrapperConfig
{
    private static readonly string[] NoNames = [];

    private WrapperConfig(FunctionDescriptor function, WrapDefaults defaults)
    {
        Function = function;
        Defaults = defaults;
        IgnoredNames = NoNames;
        KeyMask = AllParameters(function) & ~function.CancellationMask;
    }

    private WrapperConfig(WrapperConfig other)
    {
        Function = other.Function;
        Defaults = other.Defaults;
        Ttl = other.Ttl;
        NeverDie = other.NeverDie;
        IdleTimeout = other.IdleTimeout;
        IgnoredNames = other.IgnoredNames;
        KeyMask = other.KeyMask;
        NoSelf = other.NoSelf;
        KeyBy = other.KeyBy;
        Name = other.Name;
        Backend = other.Backend;
        HardTimeout = other.HardTimeout;
        SoftTimeout = other.SoftTimeout;
        MaxStale = other.MaxStale;
    }

    public FunctionDescriptor Function { get; }

    /// <summary>Where the TTL and backend come from when the wrapper does not set them.</summary>
    public WrapDefaults Defaults { get; private init; }

    /// <summary>The explicit TTL, or null to use <see cref="WrapDefaults.Ttl"/> at bind time.</summary>
    public TimeSpan? Ttl { get; private init; }

    public bool NeverDie { get; private init; }

    public TimeSpan? IdleTimeout { get; private init; }

    /// <summary>Ignored parameter names, sorted, without duplicates.</summary>
    public string[] IgnoredNames { get; private init; }

    /// <summary>Bit i set when argument i is part of the key (not ignored, not a CancellationToken).</summary>
    public int KeyMask { get; private init; }

    public bool NoSelf { get; private init; }

    public Delegate? KeyBy { get; private init; }

    public string? Name { get; private init; }

    /// <summary>
    /// The explicit backend, or null to use <see cref="WrapDefaults.Backend"/> at the first call: the entry point's, or the one
    /// a function given to <c>Backend(Func&lt;ICacheBackend&gt;)</c> returns then.
    /// </summary>
    public ICacheBackend? Backend { get; private init; }

    /// <summary>Callers wait at most this long for an execution; it is then abandoned. Null: no limit.</summary>
    public TimeSpan? HardTimeout { get; private init; }

    /// <summary>After this long a caller gets a stale value, when one younger than <see cref="MaxStale"/> exists.</summary>
    public TimeSpan? SoftTimeout { get; private init; }

    /// <summary>How old a stale value served at the soft timeout may be (measured from when it was stored).</summary>
    public TimeSpan? MaxStale { get; private init; }

    /// <summary>Whether the target (instance or closure) is part of the key.</summary>
    public bool KeyHasTarget => Function.HasTarget && !NoSelf && KeyBy is null;

    /// <summary>The binding of wrappers with these settings and typed keys, made at the first call of the first of them (see <see cref="BindingFactory"/>).</summary>
    internal object? TypedBinding;

    /// <summary>The binding of wrappers with these settings and text keys (<c>KeyBy</c>, or arguments keyed by content).</summary>
    internal object? TextBinding;

    /// <summary>The last wrapper made with these settings for a function without a target (reused when the same delegate is wrapped again).</summary>
    internal object? LastWrapper;

    /// <summary>Whether keys are text (<c>KeyBy</c>, or an argument keyed by content), decided at the first call.</summary>
    internal bool UsesTextKey => _usesTextKey ??= KeyBy is not null || KeyRules.NeedsTextKey(this);

    private bool? _usesTextKey;
    private string? _keyShape;
    private ((int Kind, long A, long B, object? O) Option, WrapperConfig Config)[]? _derived;

    /// <summary>The function identity: the explicit name, else the method identity.</summary>
    public string Identity => Name ?? Function.Identity;

    /// <summary>Name for logs and metrics.</summary>
    public string DisplayName => Name ?? Function.DisplayName;

    /// <summary>
    /// Describes how the key is built, and whether entries never die, so that wrappers of one function with
    /// different key settings never read each other's entries, and never-die and plain wrappers never share
    /// one (a plain wrapper's value would not be refreshed, and never-die readers would miss). Empty for the
    /// default (all arguments, entries expire).
    /// </summary>
    public string KeyShape => _keyShape ??= BuildKeyShape();

    private string BuildKeyShape()
    {
        {
            string shape;
            if (KeyBy is not null)
            {
                var keyFunction = FunctionDescriptor.Create(KeyBy, out _);
                shape = "~key(" + keyFunction.Identity + ")";
            }
            else
            {
                shape = IgnoredNames.Length == 0 ? string.Empty : "~ignore(" + string.Join(",", IgnoredNames) + ")";
            }

            return NeverDie ? shape + "~neverdie" : shape;
        }
    }

    /// <summary>The settings of a synchronous function returning <typeparamref name="TResult"/>, which must not be a task.</summary>
    public static WrapperConfig CreateSync<TResult>(Delegate func, WrapDefaults defaults)
    {
        ArgumentNullException.ThrowIfNull(func);
        if (!SyncResultChecked<TResult>.Ok)
        {
            Guard.SyncResult(typeof(TResult), nameof(func));
            SyncResultChecked<TResult>.Ok = true;
        }

        return Create(func, defaults);
    }

    /// <summary>Set once <typeparamref name="TResult"/> passed <see cref="Guard.SyncResult"/> (checked once per type, not at every inline wrap).</summary>
    private static class SyncResultChecked<TResult>
    {
        public static bool Ok;
    }

    public static WrapperConfig Create(Delegate func, WrapDefaults defaults)
    {
        ArgumentNullException.ThrowIfNull(func);
        var function = FunctionDescriptor.Create(func, out _);
        if (ReferenceEquals(defaults, WrapDefaults.Static))
        {
            // Every plain wrapper of a function shares one configuration, and with it one binding: wrapping inline costs little.
            return function.StaticConfig ??= new WrapperConfig(function, defaults);
        }

        return new WrapperConfig(function, defaults);
    }

    /// <summary>
    /// The configuration this one becomes with one more option, shared by every wrapper that adds the same option
    /// (so inline chains such as <c>Wrap(f).Ttl(t)</c> reuse one binding). At most 32 variants are kept per configuration.
    /// </summary>
    private WrapperConfig Derive((int Kind, long A, long B, object? O) option, Func<WrapperConfig, (int Kind, long A, long B, object? O), WrapperConfig> make)
    {
        // Read without a lock: the array is replaced, never changed, when a variant is added.
        var derived = Volatile.Read(ref _derived);
        if (derived is not null)
        {
            foreach (var (known, config) in derived)
            {
                if (known.Equals(option))
                {
                    return config;
                }
            }
        }

        var made = make(this, option);
        while (true)
        {
            var current = Volatile.Read(ref _derived);
            if (current is { Length: >= 32 })
            {
                return made;
            }

            ((int Kind, long A, long B, object? O) Option, WrapperConfig Config)[] next = current is null ? [(option, made)] : [.. current, (option, made)];
            if (Interlocked.CompareExchange(ref _derived, next, current) == current)
            {
                return made;
            }

            foreach (var (known, config) in Volatile.Read(ref _derived)!)
            {
                if (known.Equals(option))
                {
                    return config;
                }
            }
        }
    }

    public WrapperConfig WithTtl(TimeSpan ttl)
    {
        Guard.Ttl(ttl, nameof(ttl));
        if (NeverDie && ttl == Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(ttl), ttl, "A never-die function needs a finite TTL: it is refreshed every TTL. Pass a finite duration, or remove NeverDie().");
        }

        return Derive((1, ttl.Ticks, 0, null), static (c, o) => new WrapperConfig(c) { Ttl = TimeSpan.FromTicks(o.A) });
    }

    public WrapperConfig WithNeverDie(TimeSpan? idleTimeout)
    {
        if (idleTimeout is { } idle)
        {
            Guard.Positive(idle, nameof(idleTimeout), "The idle timeout must be positive: entries nobody read for this long stop being refreshed.");
        }

        if (Ttl == Timeout.InfiniteTimeSpan)
        {
            throw new InvalidOperationException("NeverDie() needs a finite TTL, because a never-die entry is refreshed every TTL. Replace Ttl(Timeout.InfiniteTimeSpan) with a finite duration.");
        }

        return Derive((2, idleTimeout?.Ticks ?? -1, 0, null), static (c, o) => new WrapperConfig(c) { NeverDie = true, IdleTimeout = o.A < 0 ? null : TimeSpan.FromTicks(o.A) });
    }

    public WrapperConfig WithIgnoredArgs(string[] names)
    {
        ArgumentNullException.ThrowIfNull(names);
        if (KeyBy is not null)
        {
            throw KeyByConflict("IgnoreArgs");
        }

        var mask = KeyMask;
        var all = new SortedSet<string>(IgnoredNames, StringComparer.Ordinal);
        foreach (var name in names)
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new ArgumentException("Argument names to ignore must not be null or empty.", nameof(names));
            }

            var index = Array.IndexOf(Function.ParameterNames, name);
            if (index < 0)
            {
                var valid = Function.ParameterNames.Length == 0 ? "(the function has no parameters)" : string.Join(", ", Function.ParameterNames);
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"'{name}' is not a parameter of {DisplayName}. Valid names: {valid}."),
                    nameof(names));
            }

            mask &= ~(1 << index);
            all.Add(name);
        }

        return new WrapperConfig(this) { IgnoredNames = [.. all], KeyMask = mask };
    }

    public WrapperConfig WithNoSelf()
    {
        if (KeyBy is not null)
        {
            throw KeyByConflict("NoSelf");
        }

        return Derive((3, 0, 0, null), static (c, _) => new WrapperConfig(c) { NoSelf = true });
    }

    public WrapperConfig WithKeyBy(Delegate keyBy)
    {
        ArgumentNullException.ThrowIfNull(keyBy);
        if (IgnoredNames.Length > 0)
        {
            throw KeyByConflict("IgnoreArgs");
        }

        if (NoSelf)
        {
            throw KeyByConflict("NoSelf");
        }

        // Validates the key function the same way as the function itself (no multicast, no cached function).
        _ = FunctionDescriptor.Create(keyBy, out _);
        return new WrapperConfig(this) { KeyBy = keyBy };
    }

    public WrapperConfig WithName(string name)
    {
        Guard.Name(name, nameof(name));
        return Derive((4, 0, 0, name), static (c, o) => new WrapperConfig(c) { Name = (string)o.O! });
    }

    public WrapperConfig WithTimeout(TimeSpan timeout)
    {
        Guard.Positive(timeout, nameof(timeout), "The timeout is how long callers wait for an execution before it fails with a TimeoutException.");
        if (SoftTimeout is { } soft && soft >= timeout)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, $"The timeout must be longer than the soft timeout ({soft}), or the soft timeout would never apply.");
        }

        return Derive((5, timeout.Ticks, 0, null), static (c, o) => new WrapperConfig(c) { HardTimeout = TimeSpan.FromTicks(o.A) });
    }

    public WrapperConfig WithSoftTimeout(TimeSpan softTimeout, TimeSpan maxStale)
    {
        Guard.Positive(softTimeout, nameof(softTimeout), "The soft timeout is how long a caller waits before it gets a stale value.");
        Guard.Positive(maxStale, nameof(maxStale), "maxStale is how old a stale value may be (from when it was stored).");
        if (HardTimeout is { } hard && softTimeout >= hard)
        {
            throw new ArgumentOutOfRangeException(nameof(softTimeout), softTimeout, $"The soft timeout must be shorter than the timeout ({hard}).");
        }

        return Derive((6, softTimeout.Ticks, maxStale.Ticks, null), static (c, o) => new WrapperConfig(c) { SoftTimeout = TimeSpan.FromTicks(o.A), MaxStale = TimeSpan.FromTicks(o.B) });
    }

    /// <summary>Sets an explicit backend, which wins over a backend function set before (see <see cref="WithBackend(Func{ICacheBackend})"/>).</summary>
    public WrapperConfig WithBackend(ICacheBackend backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return Derive((7, 0, 0, backend), static (c, o) => new WrapperConfig(c) { Backend = (ICacheBackend)o.O! });
    }

    /// <summary>
    /// Takes the backend from <paramref name="backend"/>, called when the wrapper binds (its first call, and the first call after
    /// the backend it returned is disposed), and drops any explicit backend. The TTL still comes from where it came from.
    /// </summary>
    public WrapperConfig WithBackend(Func<ICacheBackend> backend)
    {
        ArgumentNullException.ThrowIfNull(backend);
        return Derive((8, 0, 0, backend), static (c, o) => new WrapperConfig(c) { Defaults = WrapDefaults.WithBackend(c.Defaults, (Func<ICacheBackend>)o.O!), Backend = null });
    }

    private static int AllParameters(FunctionDescriptor function) => (1 << function.ParameterNames.Length) - 1;

    private static InvalidOperationException KeyByConflict(string other) => new(
        $"KeyBy cannot be combined with {other}: the key function sees every argument and the instance, so it already decides what is part of the key. " +
        $"Remove {other}() and leave what should not count out of the key function.");
}
