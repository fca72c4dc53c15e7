namespace CachifyNet.Internal;

/// <summary>What a wrapper checks of its binding at each call.</summary>
internal interface IBinding
{
    /// <summary>
    /// Whether the binding's backend was disposed: the wrapper binds again at its next call, to the backend its settings
    /// name now (after <c>CachifyRedis.Reset()</c> and <c>Configure()</c>, or a new host), or throws <see cref="ObjectDisposedException"/>.
    /// </summary>
    bool IsStale { get; }

    /// <summary>Removes every entry of the binding's keyspace.</summary>
    void Clear();

    /// <summary>Removes every entry of the binding's keyspace (shared backends: in the store).</summary>
    ValueTask ClearAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A wrapper bound to its keyspace: everything the call path needs, resolved once (the TTL in clock
/// ticks, the key settings, the invoker). Entries point at the binding that wrote them.
/// </summary>
internal abstract class Binding<TKey, TValue> : IBinding
    where TKey : struct, IArgsKey<TKey>
{
    private readonly BackendServices _services;

    protected Binding(Keyspace<TKey, TValue> keyspace, WrapperConfig config, TimeSpan ttl, long ttlTicks, long idleTicks)
    {
        Keyspace = keyspace;
        _services = keyspace.Services;
        Name = config.DisplayName;
        Ttl = ttl;
        TtlTicks = ttlTicks;
        NeverDie = config.NeverDie;
        IdleTicks = idleTicks;
        Tags = new Telemetry.Tags(config.DisplayName, keyspace.Services.Kind);
        TracksReads = config.NeverDie && idleTicks != long.MaxValue;
        HardTimeout = config.HardTimeout;
        ReferenceMask = KeyRules.ReferenceMask(config);
        SoftTimeout = config.SoftTimeout;
        Lifetimes = config.Defaults.Lifetimes;
        MaxStaleTicks = config.MaxStale is { } maxStale ? keyspace.Services.ToTicks(maxStale) : 0;
    }

    /// <summary>The service lifetimes of the container the wrapper was made from, to warn about per-request targets; null outside DI.</summary>
    public DependencyInjection.ServiceLifetimes? Lifetimes { get; }

    /// <summary>Bit i set when argument i is keyed by reference (see <see cref="KeyRules.ReferenceMask"/>).</summary>
    public int ReferenceMask { get; }

    /// <summary>How long callers wait for an execution before it is abandoned; null for no limit.</summary>
    public TimeSpan? HardTimeout { get; }

    /// <summary>How long a caller waits before it takes a stale value (see <see cref="MaxStaleTicks"/>); null for never.</summary>
    public TimeSpan? SoftTimeout { get; }

    /// <summary>The oldest stale value (clock ticks since stored) served at the soft timeout; 0 when stale values are not kept.</summary>
    public long MaxStaleTicks { get; }

    /// <summary>True when an execution must not run on the caller's thread: a waiting caller may have to give up.</summary>
    public bool HasTimeouts => HardTimeout is not null || SoftTimeout is not null;

    /// <summary>True for never-die wrappers with an idle limit: their hits mark entries as read.</summary>
    public bool TracksReads { get; }

    /// <summary>Metric and trace tags of this wrapper.</summary>
    public Telemetry.Tags Tags { get; }

    public Keyspace<TKey, TValue> Keyspace { get; }

    /// <inheritdoc/>
    public bool IsStale => _services.IsDisposed;

    /// <inheritdoc/>
    public void Clear() => Keyspace.Clear();

    /// <inheritdoc/>
    public ValueTask ClearAsync(CancellationToken cancellationToken) => Keyspace.ClearAsync(cancellationToken);

    /// <summary>Name for logs and metrics.</summary>
    public string Name { get; }

    public TimeSpan Ttl { get; }

    /// <summary>TTL in the backend clock's ticks; <see cref="long.MaxValue"/> when entries never expire.</summary>
    public long TtlTicks { get; }

    public bool NeverDie { get; }

    /// <summary>Never-die idle limit in clock ticks; <see cref="long.MaxValue"/> when there is none.</summary>
    public long IdleTicks { get; }

    /// <summary>
    /// Whether an entry written by <paramref name="writer"/> may be returned to this reader without
    /// looking at its age: the writer's lifetime is no longer than the reader's promise. (Never-die and plain
    /// wrappers have different keyspaces, so the never-die condition holds by construction; it is kept as the
    /// rule the Redis envelope check mirrors.)
    /// </summary>
    public bool TrustsWriter(Binding<TKey, TValue> writer)
        => ReferenceEquals(writer, this) || (writer.TtlTicks <= TtlTicks && (!writer.NeverDie || NeverDie));
}

/// <summary>The binding of a wrapper of a given arity (<typeparamref name="TArgs"/> is its argument tuple).</summary>
internal sealed class Binding<TKey, TArgs, TValue> : Binding<TKey, TValue>
    where TKey : struct, IArgsKey<TKey>
{
    public Binding(Keyspace<TKey, TValue> keyspace, WrapperConfig config, Invoker<TArgs, TValue> invoker, TimeSpan ttl, long ttlTicks, long idleTicks)
        : base(keyspace, config, ttl, ttlTicks, idleTicks)
    {
        Invoker = invoker;
        KeyMask = config.KeyMask;
        Producer = keyspace.CreateProducer<TArgs>();
    }

    /// <summary>The keyspace's owner work for this argument tuple type, resolved once.</summary>
    public Keyspace<TKey, TValue>.Producer<TArgs> Producer { get; }

    public Invoker<TArgs, TValue> Invoker { get; }

    /// <summary>Bit i set when argument i is part of the key.</summary>
    public int KeyMask { get; }

    /// <summary>A new execution, with its owner counted as its first participant.</summary>
    public Flight<TValue> NewFlight() => new(Invoker.CancellationMask != 0, Keyspace.Services.Logger);
}
