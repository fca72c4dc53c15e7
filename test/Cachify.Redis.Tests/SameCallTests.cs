using System.Collections.Concurrent;
using CachifyNet.Internal;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// What counts as the same call, one test body for every backend: memory and Redis share an entry for the same
/// calls, or the backend that cannot honour a configuration refuses it at bind.
/// </summary>
public sealed class SameCallTests(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    /// <summary>Executions per test key; the wrapped functions capture no counter (a captured value is part of the key).</summary>
    private static readonly ConcurrentDictionary<string, int> Executions = new();

    public static TheoryData<string> Backends => new() { "memory", "redis" };

    private ICacheBackend Store(string kind)
    {
        if (kind == "redis")
        {
            return Backend;
        }

        var memory = new MemoryCacheBackend();
        Owned(memory);
        return memory;
    }

    private static int Run(string counter, int result)
    {
        Executions.AddOrUpdate(counter, 1, static (_, n) => n + 1);
        return result;
    }

    private static int Count(string counter) => Executions.GetValueOrDefault(counter);

    private string Counter(string kind, [System.Runtime.CompilerServices.CallerMemberName] string test = "") => $"{test}.{kind}.{Prefix}";

    [Theory]
    [MemberData(nameof(Backends))]
    public void Collections_WithEqualItems_ShareOneExecution(string kind)
    {
        var backend = Store(kind);
        var id = Counter(kind);
        var list = Cachify.Wrap((string c, List<int> l) => Run(c, l.Sum())).IgnoreArgs("c").Backend(backend);
        var array = Cachify.Wrap((string c, int[] a) => Run(c + ".array", a.Sum())).IgnoreArgs("c").Backend(backend);

        Assert.Equal(3, list.Invoke(id, [1, 2]));
        Assert.Equal(3, list.Invoke(id, [1, 2]));
        Assert.Equal(4, list.Invoke(id, [2, 2]));
        Assert.Equal(3, array.Invoke(id, [1, 2]));
        Assert.Equal(3, array.Invoke(id, [1, 2]));

        Assert.Equal(2, Count(id));
        Assert.Equal(1, Count(id + ".array"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void Collections_MutatedAfterTheCall_NeverGetTheOldResult(string kind)
    {
        var backend = Store(kind);
        var id = Counter(kind);
        var sum = Cachify.Wrap((string c, List<int> l) => Run(c, l.Sum())).IgnoreArgs("c").Backend(backend);
        var dictionary = Cachify.Wrap((string c, Dictionary<int, string> d) => Run(c, d.Count)).IgnoreArgs("c").Backend(backend);
        var numbers = new List<int> { 1, 2 };
        var names = new Dictionary<int, string> { [1] = "a" };

        Assert.Equal(3, sum.Invoke(id, numbers));
        numbers.Add(3);
        Assert.Equal(6, sum.Invoke(id, numbers));
        Assert.Equal(1, dictionary.Invoke(id, names));
        names[2] = "b";
        Assert.Equal(2, dictionary.Invoke(id, names));
        Assert.Equal(4, Count(id));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ClassesAndRecordsOfCollections_AreKeyedByContent(string kind)
    {
        var backend = Store(kind);
        var id = Counter(kind);
        var query = Cachify.Wrap((string c, Query q) => Run(c, q.Page)).IgnoreArgs("c").Backend(backend);
        var filter = Cachify.Wrap((string c, Filter f) => Run(c + ".filter", f.Ids.Count)).IgnoreArgs("c").Backend(backend);

        query.Invoke(id, new Query { Page = 1, Term = "x" });
        query.Invoke(id, new Query { Page = 1, Term = "x" });
        query.Invoke(id, new Query { Page = 1, Term = "y" });
        filter.Invoke(id, new Filter([1, 2]));
        filter.Invoke(id, new Filter([1, 2]));
        var ids = new List<int> { 1 };
        var shared = new Filter(ids);
        filter.Invoke(id, shared);
        ids.Add(5);
        filter.Invoke(id, shared);

        Assert.Equal(2, Count(id));
        Assert.Equal(3, Count(id + ".filter"));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void ServiceArgument_IsKeyedByReferenceInMemory_AndRefusedByRedis(string kind)
    {
        var backend = Store(kind);
        var id = Counter(kind);
        var f = Cachify.Wrap((string c, Service s) => Run(c, s.Size)).IgnoreArgs("c");
        if (kind == "redis")
        {
            var error = Assert.Throws<ArgumentException>(() => f.Backend(backend).BindNow());
            Assert.Contains("'s' (SameCallTests+Service)", error.Message, StringComparison.Ordinal);
            Assert.Contains(".KeyBy(", error.Message, StringComparison.Ordinal);
            return;
        }

        var cached = f.Backend(backend);
        var one = new Service(1);
        cached.Invoke(id, one);
        cached.Invoke(id, one);
        cached.Invoke(id, new Service(1));
        Assert.Equal(2, Count(id));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public void NamedInstanceMethod_IsKeyedPerInstance_OrRefused(string kind)
    {
        var backend = Store(kind);
        var id = Counter(kind);
        var requests = Enumerable.Range(0, 5).Select(_ => new Repository(id)).ToList();

        if (kind == "redis")
        {
            var error = Assert.Throws<ArgumentException>(() => Cachify.Wrap<int, int>(requests[0].Get).Named("users.get").Backend(backend).BindNow());
            Assert.Contains(".NoSelf()", error.Message, StringComparison.Ordinal);
        }
        else
        {
            // Named names the function; it does not change what is keyed: each instance has its own entries.
            foreach (var repository in requests)
            {
                Cachify.Wrap<int, int>(repository.Get).Named("users.get." + id).Backend(backend).Invoke(7);
            }

            Assert.Equal(5, Count(id));
        }

        // NoSelf: every instance shares, on every backend.
        foreach (var repository in requests)
        {
            Cachify.Wrap<int, int>(repository.Get).Named("users.shared." + id).NoSelf().Backend(backend).Invoke(7);
        }

        Assert.Equal(kind == "redis" ? 1 : 6, Count(id));
    }

    [Theory]
    [MemberData(nameof(Backends))]
    public async Task InlineWrap_HitsForTheSameCapturedValues_AndNeverSharesAcrossOthers(string kind)
    {
        var backend = Store(kind);
        var id = Counter(kind);

        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(10 + 4 + 3, Lookup(backend, id, "acme", 10));
            Assert.Equal(10 + 7 + 3, Lookup(backend, id, "initech", 10));
            Assert.Equal(10 + 4 + 3, await LookupAsync(backend, id, "acme", 10));
        }

        Assert.Equal(2, Count(id));
        Assert.Equal(1, Count(id + ".async"));
    }

    [Fact]
    public void InlineWrap_InstancesCapturedByTheirMethods_NeverShare()
    {
        var backend = Store("memory");
        var id = Counter("memory");
        var a = new Repository(id);
        var b = new Repository(id);

        for (var i = 0; i < 10; i++)
        {
            a.Cached(backend, 1);
            b.Cached(backend, 1);
        }

        Assert.Equal(2, Count(id));
    }

    [Fact]
    public void NewInstancePerCall_LogsOneWarningWithTheFix()
    {
        var logs = new ListLoggerFactory();
        var backend = new MemoryCacheBackend(new MemoryCacheBackendOptions { LoggerFactory = logs });
        Owned(backend);
        var id = Counter("memory");

        for (var i = 0; i < 300; i++)
        {
            new Repository(id).Cached(backend, 1);
        }

        var warning = Assert.Single(logs.Entries, e => e.EventId == 1004);
        Assert.Contains(".NoSelf()", warning.Message, StringComparison.Ordinal);
        Assert.Contains("Repository", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NewServiceArgumentPerCall_LogsOneWarning()
    {
        var logs = new ListLoggerFactory();
        var backend = new MemoryCacheBackend(new MemoryCacheBackendOptions { LoggerFactory = logs });
        Owned(backend);
        var id = Counter("memory");
        var f = Cachify.Wrap((string c, Service s) => Run(c, s.Size)).IgnoreArgs("c").Backend(backend);

        for (var i = 0; i < 300; i++)
        {
            f.Invoke(id, new Service(1));
        }

        Assert.Equal(300, Count(id));
        Assert.Contains("Service", Assert.Single(logs.Entries, e => e.EventId == 1004).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TextKeys_WithAServiceBesideACollection_KeyTheServiceByReference()
    {
        var backend = Store("memory");
        var id = Counter("memory");
        var f = Cachify.Wrap((string c, List<int> l, Service s) => Run(c, l.Sum() + s.Size)).IgnoreArgs("c").Backend(backend);
        var one = new Service(1);

        Assert.Equal(4, f.Invoke(id, [1, 2], one));
        Assert.Equal(4, f.Invoke(id, [1, 2], one));
        Assert.Equal(4, f.Invoke(id, [1, 2], new Service(1)));
        Assert.Equal(2, Count(id));
    }

    [Fact]
    public void InlineWrap_OfALambdaThatCapturesNothing_ReusesOneWrapper()
    {
        var backend = Store("memory");
        static CachedFunc<int, int> Inline(ICacheBackend backend) => Cachify.Wrap(static (int v) => v * 3).Ttl(TimeSpan.FromMinutes(1)).Backend(backend);
        var first = Inline(backend);
        var second = Inline(backend);

        Assert.Same(first, second);
        Assert.Equal(6, first.Invoke(2));
    }

    [Fact]
    public void NoSelfEntries_KeepNothingTheWrapperCaptured()
    {
        var backend = Store("memory");
        var id = Counter("memory");
        var alive = WriteEntriesFromClosures(backend, id, count: 20);

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.All(alive, w => Assert.False(w.IsAlive, "a captured object outlived its wrapper"));
        for (var i = 0; i < 20; i++)
        {
            Assert.Equal(i, MakeNoSelf(new Holder(0), id, backend).Invoke(i));
        }

        Assert.Equal(20, Count(id));
    }

    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static List<WeakReference> WriteEntriesFromClosures(ICacheBackend backend, string id, int count)
    {
        var alive = new List<WeakReference>();
        for (var i = 0; i < count; i++)
        {
            var holder = new Holder(1 << 20);
            alive.Add(new WeakReference(holder));
            MakeNoSelf(holder, id, backend).Invoke(i);
        }

        return alive;
    }

    private static CachedFunc<int, int> MakeNoSelf(Holder holder, string id, ICacheBackend backend)
        => Cachify.Wrap((int x) => Run(id, x + holder.Zero)).NoSelf().Backend(backend);

    private static int Lookup(ICacheBackend backend, string counter, string tenant, int id)
        => Cachify.Wrap((int x) => Run(counter, x + tenant.Length + 3)).Ttl(TimeSpan.FromMinutes(5)).Backend(backend).Invoke(id);

    private static Task<int> LookupAsync(ICacheBackend backend, string counter, string tenant, int id)
        => Cachify.Wrap((int x) => Task.FromResult(Run(counter + ".async", x + tenant.Length + 3))).Ttl(TimeSpan.FromMinutes(5)).Backend(backend).Invoke(id);

    public sealed class Query
    {
        public int Page { get; set; }

        public string Term { get; set; } = string.Empty;
    }

    public sealed record Filter(List<int> Ids);

    /// <summary>A service: state its public members do not show.</summary>
    public sealed class Service(int size)
    {
        private readonly int _connection = size;

        public int Size => _connection;
    }

    public sealed class Repository(string counter)
    {
        private readonly string _counter = counter;

        public int Get(int id) => Run(_counter, id);

        /// <summary>Wraps inline a lambda that uses 'this': keyed by this instance.</summary>
        public int Cached(ICacheBackend backend, int id) => Cachify.Wrap((int x) => Get(x)).Backend(backend).Invoke(id);
    }

    public sealed class Holder(int size)
    {
        private readonly byte[] _payload = new byte[size];

        public int Zero => _payload.Length * 0;
    }
}
