using CachifyNet.Internal;
using CachifyNet.Internal.Stores;

namespace CachifyNet.Stores;

/// <summary>
/// A backend over any <see cref="CacheStore"/>: entries live in the store, shared by every process that uses the same
/// store and <see cref="CacheStoreBackendOptions.KeyPrefix"/>. Derive from it to ship a store with its own options as a
/// backend of its own (Cachify.Redis's <c>RedisCacheBackend</c> does).
/// </summary>
/// <remarks>
/// <para>
/// A value lives at <c>{prefix}:{identity}:{arguments}</c>; the identity is the <c>Named(...)</c> name or the method's
/// identity, the arguments are written as stable, culture-invariant text (hashed when long). One more key per function,
/// <c>{prefix}:gen:{identity}</c>, holds its generation: Clear writes a new one, and entries written under another
/// generation are never served. As on Redis, a function whose keys would depend on an object instance is refused when the
/// wrapper is bound (<c>.NoSelf()</c> or <c>.KeyBy(...)</c> fix it), and so is a result type that would not come back
/// from the serializer as it was.
/// </para>
/// <para>
/// Callers of one key in this process share one execution. When the store has a lock (<see cref="CacheStore.Lock"/>),
/// callers in every process share one: the first takes the key's lock, the others wait for its value (see
/// <see cref="CacheStoreLock"/>), a never-die entry is refreshed by one process per period, and an Invalidate stops
/// executions running in any process from storing. Without a lock, processes do not coordinate: two processes that miss
/// the same key at once both run the function, a never-die entry is refreshed by each process that uses it, and an
/// Invalidate stops only this process's running executions from storing. An entry's age is measured by the clock of the
/// process that wrote it against the reader's (UTC): keep the clocks of the machines in sync.
/// </para>
/// </remarks>
/// <example>
/// <code>
/// var backend = new CacheStoreBackend(new MyStore(), new CacheStoreBackendOptions { KeyPrefix = "myapp" });
/// var getUser = Cachify.Wrap((int id) =&gt; db.GetUserAsync(id)).Named("users.get").Backend(backend);
/// </code>
/// </example>
public class CacheStoreBackend : ICacheBackend, IDisposable
{
    private static readonly TimeSpan MinLockTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxTimeout = TimeSpan.FromDays(1);

    private readonly BackendServices _services;
    private readonly StoreContext _context;
    private readonly LocalHub? _local;

    /// <summary>Creates a backend over <paramref name="store"/>, which it does not dispose.</summary>
    /// <param name="store">Where entries live.</param>
    /// <param name="options">Key prefix, error mode, serializer, clock and logging; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="store"/> is null.</exception>
    /// <exception cref="ArgumentException">An option is invalid (the message names it and the fix).</exception>
    public CacheStoreBackend(CacheStore store, CacheStoreBackendOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (string.IsNullOrWhiteSpace(store.Kind))
        {
            throw new ArgumentException($"{store.GetType().Name}.Kind is empty; it is the backend tag of Cachify's metrics. Return a short name such as \"sqlserver\", or do not override it (\"store\").", nameof(store));
        }

        options ??= new CacheStoreBackendOptions();
        ValidatePrefix(options.KeyPrefix, nameof(options));
        if (!Enum.IsDefined(options.OnError))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.OnError, "CacheStoreBackendOptions.OnError must be CacheStoreErrorMode.Silent or CacheStoreErrorMode.Throw.");
        }

        if (options.Serializer is null)
        {
            throw new ArgumentException("CacheStoreBackendOptions.Serializer is null. Leave it unset for SystemTextJsonCacheSerializer.Default, or set an ICacheSerializer.", nameof(options));
        }

        if (options.LockTimeout < MinLockTimeout || options.LockTimeout > MaxTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.LockTimeout, "CacheStoreBackendOptions.LockTimeout must be between 100 milliseconds and 1 day: it is the lease of a store lock, renewed every third of it while the function runs. Leave it unset for 10 seconds.");
        }

        if (options.LockWaitTimeout is { } wait && (wait <= TimeSpan.Zero || wait > MaxTimeout))
        {
            throw new ArgumentOutOfRangeException(nameof(options), wait, "CacheStoreBackendOptions.LockWaitTimeout is not positive or is over 1 day. Set it between those bounds, or leave it unset for twice the LockTimeout (at most 1 day).");
        }

        LocalHub.Validate(options.LocalCache, nameof(CacheStoreBackendOptions), nameof(options));
        Store = store;
        Options = options;
        _services = new BackendServices(GetType().Name, store.Kind, options.TimeProvider, options.LoggerFactory) { WritesKeysAsText = true };

        // A backplane without local copies still carries notices: they wake the callers waiting for another process's lock.
        _local = options.LocalCache.Enabled || options.Backplane is not null ? new LocalHub(_services, options.LocalCache, options.Backplane) : null;
        _context = new StoreContext(store, options, _services, _local);
        if (_context.Lock is not null)
        {
            _services.Waiters = _context.Waiters;
        }

        _local?.Start();
    }

    /// <summary>Gets the store the backend uses.</summary>
    public CacheStore Store { get; }

    /// <summary>Gets the options the backend was created with.</summary>
    public CacheStoreBackendOptions Options { get; }

    BackendServices ICacheBackend.Services => _services;

    /// <summary>What the backend's keyspaces share (tests read its lock waiters).</summary>
    internal StoreContext Context => _context;

    /// <summary>Stops never-die refreshes and the backplane subscription, and drops the local copies, for good. Entries stay in the store for other processes.</summary>
    /// <remarks>
    /// Wrappers that use a disposed backend throw <see cref="ObjectDisposedException"/>, and so do callers that were waiting
    /// for another process's lock. An execution still running stores nothing; its lock is no longer renewed, so it is
    /// released when the function ends or expires after at most <see cref="CacheStoreBackendOptions.LockTimeout"/>.
    /// Calling it again does nothing.
    /// </remarks>
    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Stops the backend (see <see cref="Dispose()"/>); a derived backend also releases what it created.</summary>
    /// <param name="disposing">True when called from <see cref="Dispose()"/>.</param>
    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _services.Dispose();
            _local?.Dispose();
            _context.Waiters.SignalAll(); // callers waiting for another process's lock wake to find the backend disposed
        }
    }

    Keyspace<TKey, TValue> ICacheBackend.GetKeyspace<TKey, TValue>(WrapperConfig config)
    {
        SharedKeyRules.Validate(config, "backend", Store.Kind == "store" ? "CacheStore" : char.ToUpperInvariant(Store.Kind[0]) + Store.Kind[1..]); // "redis": "Redis"
        var results = ResultContract.Validate<TValue>(Options.Serializer, config.DisplayName, "backend", "a store", "CacheStoreBackendOptions.Serializer");
        var identity = SharedKeyRules.Identity(config);
        var mask = SharedKeyRules.KeyMask(config);
        return _services.GetKeyspace<TKey, TValue>(
            new KeyspaceId(identity, mask, config.KeyHasTarget), // keys with a target have their own type
            config.DisplayName,
            () => new StoreKeyspace<TKey, TValue>(_context, identity, mask, config.DisplayName, results, KeyRules.TypedKeyMatchesText(config)));
    }

    private static void ValidatePrefix(string? prefix, string paramName)
    {
        const string Rules = "It must be non-empty, without white space, control characters, ':' (a prefix \"x:gen\" would collide with the generation keys of \"x\") or braces. Use a name such as \"myapp\".";
        if (string.IsNullOrEmpty(prefix))
        {
            throw new ArgumentException("CacheStoreBackendOptions.KeyPrefix is empty. " + Rules, paramName);
        }

        foreach (var c in prefix)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is ':' or '{' or '}')
            {
                throw new ArgumentException($"CacheStoreBackendOptions.KeyPrefix \"{prefix}\" contains a character it may not ('{c}' or white space). " + Rules, paramName);
            }
        }
    }

    private readonly record struct KeyspaceId(string Identity, int Mask, bool Targeted);
}
