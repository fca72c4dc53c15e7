using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using CachifyNet.Benchmarks.Infrastructure;
using StackExchange.Redis;
using ZiggyCreatures.Caching.Fusion;

namespace CachifyNet.Benchmarks.Redis;

/// <summary>
/// Hit throughput on Redis with <see cref="Callers"/> concurrent asynchronous callers: each caller awaits
/// <see cref="CallsPerCaller"/> hits of the int-argument entry of <see cref="RedisHitBenchmarks"/> one after the
/// other, all callers at once, sharing one multiplexer (StackExchange.Redis pipelines their commands). The time is
/// per hit (all callers together), so <c>Calls/s (all)</c> = 10⁹ / Mean; the floor is raw <c>StringGetAsync</c> of
/// the same key plus deserialization of the same payload. Setup checks every call is a hit that reached Redis.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(Columns))]
[IterationTime(200)]
public class RedisThroughputBenchmarks
{
    public const int Callers = 64;
    public const int CallsPerCaller = 16;
    private const int Hits = Callers * CallsPerCaller;
    private const string Name = "bench.profile";

    private readonly int _id = 42;
    private readonly Task[] _callers = new Task[Callers];

    private RedisFixture _redis = null!;
    private IDatabase _database = null!;
    private RedisKey _key;
    private AsyncCachedFunc<int, Profile> _cachify = null!;
    private Profile _expected = null!;
    private int _wrong;

    [GlobalSetup]
    public void Setup()
    {
        _redis = new RedisFixture("throughput");
        _database = _redis.Database;
        _cachify = CachifyNet.Cachify.Wrap((int id) => Task.FromResult(Source.LoadProfile(new UserQuery(id, "eu-west")))).Named(Name).NoSelf().Backend(_redis.Backend);
        _expected = _cachify.Invoke(_id).GetAwaiter().GetResult();
        _key = _redis.KeyOf(Name);
        _redis.Fusion.Set(FusionKey(_id), _expected);

        var executions = Source.Executions;
        foreach (var (name, round) in new (string, Func<Task>)[] { (nameof(Raw), Raw), (nameof(Cachify), Cachify), (nameof(FusionCache), FusionCache) })
        {
            _redis.ExpectRoundTrips(name, () => round().GetAwaiter().GetResult(), calls: 1, hitsPerCall: Hits);
            Source.Expect(_wrong, 0, name + " callers with a wrong result");
        }

        Source.Expect(Source.Executions, executions, "executions during the hit check (a benchmark measured a miss)");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Source.Expect(_wrong, 0, "callers with a wrong result");
        _redis.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Hits)]
    public Task Raw() => Round(static async self =>
    {
        for (var i = 0; i < CallsPerCaller; i++)
        {
            self.Check(RedisHitBenchmarks.Read(await self._database.StringGetAsync(self._key).ConfigureAwait(false)));
        }
    });

    [Benchmark(OperationsPerInvoke = Hits)]
    public Task Cachify() => Round(static async self =>
    {
        for (var i = 0; i < CallsPerCaller; i++)
        {
            self.Check(await self._cachify.Invoke(self._id).ConfigureAwait(false));
        }
    });

    [Benchmark(OperationsPerInvoke = Hits)]
    public Task FusionCache() => Round(static async self =>
    {
        var id = self._id;
        for (var i = 0; i < CallsPerCaller; i++)
        {
            self.Check(await self._redis.Fusion.GetOrSetAsync(FusionKey(id), _ => Task.FromResult(Source.LoadProfile(new UserQuery(id, "eu-west")))).ConfigureAwait(false));
        }
    });

    private Task Round(Func<RedisThroughputBenchmarks, Task> caller)
    {
        for (var i = 0; i < Callers; i++)
        {
            _callers[i] = caller(this);
        }

        return Task.WhenAll(_callers);
    }

    private void Check(Profile profile)
    {
        if (profile.Id != _expected.Id)
        {
            Interlocked.Increment(ref _wrong);
        }
    }

    private static string FusionKey(int id) => $"profile:{id}";

    private sealed class Columns : ManualConfig
    {
        public Columns() => AddColumn(new ThroughputColumn(
            static _ => 1,
            $"Hits per second of {Callers} concurrent callers together (10^9 / Mean)"));
    }
}
