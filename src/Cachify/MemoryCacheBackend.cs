using CachifyNet.Internal;
using Microsoft.Extensions.Caching.Memory;

namespace CachifyNet;

/// <summary>
/// Keeps entries in process memory: over your <see cref="IMemoryCache"/>, where they count against its size limit and
/// take part in its compaction, or on its own, without a size limit. This is the default backend.
/// </summary>
/// <remarks>
/// Hits are served from a typed index in front of the cache: no boxing, no clock read, no lock. Entries
/// expire at their TTL by a single scheduler per backend, which also refreshes never-die entries.
/// An entry the cache rejects (size limit) is dropped at once; one it evicts later (compaction, or the app
/// calling Compact or Clear) is dropped by a sweep that runs 100 ms after the cache rejects an insert and
/// once a minute. Because hits do not touch the <see cref="IMemoryCache"/>, its compaction removes
/// Cachify entries in write order (oldest first) rather than least-recently-read first.
/// Every caller receives the same cached object: prefer immutable results such as records.
/// </remarks>
public sealed class MemoryCacheBackend : ICacheBackend, IDisposable
{
    private readonly BackendServices _services;
    /// <summary>The app's cache the entries also live in; null for a backend of its own (see the constructors).</summary>
    private readonly IMemoryCache? _cache;
    private readonly long _entrySize;
    private readonly MemorySweeper _sweeper;
    private readonly bool _mayReject;

    /// <summary>Creates a backend of its own, with no size limit, on the system clock.</summary>
    /// <remarks>
    /// Its entries live in its typed index alone: an <see cref="IMemoryCache"/> that nobody else can reach, without a size
    /// limit, would only add its bookkeeping to every miss and entry. Pass the app's cache to the other constructor to
    /// count entries against its size limit.
    /// </remarks>
    public MemoryCacheBackend()
        : this(null, null, ofItsOwn: true)
    {
    }

    /// <summary>Creates a backend of its own, with no size limit (see <see cref="MemoryCacheBackend()"/>).</summary>
    /// <param name="options">Clock and logging (<see cref="MemoryCacheBackendOptions.EntrySize"/> is checked, and counts for nothing without a cache).</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="MemoryCacheBackendOptions.EntrySize"/> is not positive.</exception>
    public MemoryCacheBackend(MemoryCacheBackendOptions options)
        : this(options ?? throw new ArgumentNullException(nameof(options)), null, ofItsOwn: true)
    {
    }

    /// <summary>Creates a backend over the app's cache, which it does not dispose.</summary>
    /// <param name="cache">The cache that holds the entries. Its <see cref="MemoryCacheOptions.SizeLimit"/> is honoured.</param>
    /// <param name="options">Clock, entry size and logging; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="cache"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="MemoryCacheBackendOptions.EntrySize"/> is not positive.</exception>
    public MemoryCacheBackend(IMemoryCache cache, MemoryCacheBackendOptions? options = null)
        : this(options, cache ?? throw new ArgumentNullException(nameof(cache)), ofItsOwn: false)
    {
    }

    private MemoryCacheBackend(MemoryCacheBackendOptions? options, IMemoryCache? cache, bool ofItsOwn)
    {
        options ??= new MemoryCacheBackendOptions();
        if (options.EntrySize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.EntrySize, "MemoryCacheBackendOptions.EntrySize must be positive (it is the size each entry counts against MemoryCacheOptions.SizeLimit).");
        }

        _cache = ofItsOwn ? null : cache;
        _mayReject = _cache is not null && MayReject(_cache);
        _entrySize = options.EntrySize;
        _services = new BackendServices(nameof(MemoryCacheBackend), "memory", options.TimeProvider, options.LoggerFactory);
        _sweeper = new MemorySweeper(_services);
    }

    /// <summary>Drops entries the cache evicted on its own, now rather than at the next periodic sweep (tests).</summary>
    internal void Sweep() => _sweeper.Sweep();

    BackendServices ICacheBackend.Services => _services;

    /// <summary>Stops expiry and refreshes, and drops every entry (from the app's cache too).</summary>
    /// <remarks>Wrappers that use a disposed backend throw <see cref="ObjectDisposedException"/>.</remarks>
    public void Dispose()
    {
        // Entries leave the app's cache too; the typed front is emptied so nothing is served any more.
        _services.Dispose();
    }

    Keyspace<TKey, TValue> ICacheBackend.GetKeyspace<TKey, TValue>(WrapperConfig config)
    {
        // Unnamed functions are told apart by their method, so lambdas of different assemblies or load contexts never meet.
        // The target (an instance, or a closure's captured values) is part of each key, not of the keyspace.
        object identity = config.Name is null ? config.Function.Method : config.Name;
        var shape = config.KeyShape;
        var targeted = config.KeyHasTarget;
        var id = new KeyspaceId(identity, shape, targeted);
        return _services.GetKeyspace(id, config.DisplayName, () => new MemoryKeyspace<TKey, TValue>(_services, config.Identity + shape, _cache, _entrySize, _sweeper, _mayReject, targeted));
    }

    /// <summary>
    /// Whether the cache may refuse an insert. A <see cref="MemoryCache"/> refuses inserts only when it has a
    /// <see cref="MemoryCacheOptions.SizeLimit"/>, and it then throws for an entry without a size: a probe insert
    /// tells, and saves a verification read on every insert of an unbounded cache. Other caches are always verified.
    /// </summary>
    private static bool MayReject(IMemoryCache cache)
    {
        if (cache is not MemoryCache)
        {
            return true;
        }

        var probe = new object();
        try
        {
            using (var entry = cache.CreateEntry(probe))
            {
                entry.Value = probe;
            }

            cache.Remove(probe);
            return false;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    private readonly record struct KeyspaceId(object Identity, string Shape, bool Targeted);
}
