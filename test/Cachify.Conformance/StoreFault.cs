namespace CachifyNet.Conformance;

/// <summary>What a store does with its own failures (the store's server down, a timeout), as its options say.</summary>
public enum StoreErrors
{
    /// <summary>A failure never fails a call: the function runs and its result is served uncached. Invalidate and Clear still fail.</summary>
    Silent,

    /// <summary>A failure reaches the caller as a <see cref="CachifyException"/> whose inner exception is the store's error.</summary>
    Throw,
}

/// <summary>
/// A backend whose store a test can break and repair (for Redis: a redis-server killed with SIGKILL and started again
/// behind the same endpoint). Made by <see cref="CacheStoreConformanceTests.CreateFaultyStore"/>.
/// </summary>
public abstract class StoreFault : IDisposable
{
    /// <summary>The backend over the store that breaks, with the error mode it was made with.</summary>
    public abstract ICacheBackend Backend { get; }

    /// <summary>Breaks the store, and returns once the backend sees it broken (its calls fail fast, without waiting for a timeout).</summary>
    public abstract void Break();

    /// <summary>Repairs the store (it may come back empty), and returns once the backend can reach it again.</summary>
    public abstract void Repair();

    /// <summary>Whether <paramref name="error"/> (the inner exception of a <see cref="CachifyException"/>) is the error of the broken store.</summary>
    public virtual bool IsStoreError(Exception error) => true;

    /// <summary>Disposes the backend and the store.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the backend and the store.</summary>
    protected abstract void Dispose(bool disposing);
}
