using CachifyNet.Conformance;
using CachifyNet.Stores;

namespace CachifyNet.Distributed.Tests;

/// <summary>
/// The store conformance suite on a <see cref="CacheStoreBackend"/> over each store kind: its own key prefix per test, on
/// the test's fake clock (the backend measures entry ages by it, whatever the store's own expiry does), a second client
/// of the store as the other process, and a <see cref="FaultyStore"/> that fails on demand for the fault tests.
/// </summary>
public abstract class StoreConformanceTests(string kind) : CacheStoreConformanceTests
{
    private readonly StoreKind _kind = StoreKind.Create(kind);
    private readonly string _prefix = "c" + Guid.NewGuid().ToString("N")[..10];
    private readonly InProcessBackplane _backplane = new();

    protected override string? SkipReason => _kind.SkipReason;

    protected override ICacheBackend CreateBackend(TimeProvider time) => NewBackend(_kind.Connect(), time, CacheStoreErrorMode.Silent);

    protected override ICacheBackend? CreateBackendOfAnotherProcess(TimeProvider time) => NewBackend(_kind.Connect(), time, CacheStoreErrorMode.Silent);

    protected override Task? BackgroundWorkDone(ICacheBackend backend) => backend.Services.WhenIdle();

    protected override bool HasCrossProcessLock => _kind.HasLock;

    protected override bool? IsWaitingForAnotherProcess(ICacheBackend backend) => _kind.HasLock ? ((CacheStoreBackend)backend).Context.Waiters.Count > 0 : null;

    protected override StoreFault? CreateFaultyStore(StoreErrors errors, bool localLevel)
    {
        var store = new FaultyStore(_kind.Connect());
        return new Fault(store, NewBackend(store, Time, errors == StoreErrors.Throw ? CacheStoreErrorMode.Throw : CacheStoreErrorMode.Silent, localLevel));
    }

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            _kind.Dispose();
        }
    }

    /// <summary>A backend of one process: local level on (the default) and the test's backplane between the processes.</summary>
    private CacheStoreBackend NewBackend(CacheStore store, TimeProvider time, CacheStoreErrorMode onError, bool localLevel = true)
        => new(store, new CacheStoreBackendOptions
        {
            KeyPrefix = _prefix,
            TimeProvider = time,
            OnError = onError,
            LocalCache = new LocalCacheOptions { Enabled = localLevel },
            Backplane = _backplane,
        });

    /// <summary>Breaks the store by making every call of its client throw; repairs it by letting them through again.</summary>
    private sealed class Fault(FaultyStore store, CacheStoreBackend backend) : StoreFault
    {
        public override ICacheBackend Backend => backend;

        public override void Break() => store.Failing = true;

        public override void Repair() => store.Failing = false;

        public override bool IsStoreError(Exception error) => error is IOException;

        protected override void Dispose(bool disposing) => backend.Dispose();
    }
}

public sealed class DictionaryStoreConformanceTests() : StoreConformanceTests("dictionary");

public sealed class LockingDictionaryConformanceTests() : StoreConformanceTests("locking-dictionary");

public sealed class RedisCacheConformanceTests() : StoreConformanceTests("redis-cache");

public sealed class SqliteConformanceTests() : StoreConformanceTests("sqlite");
