using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace CachifyNet.Redis.Tests;

/// <summary>
/// The Redis examples of docs/redis.md and docs/dependency-injection.md, run against a real server (Cachify.Docs.Tests
/// compiles every block of the docs; this runs these ones and checks the keys they write).
/// </summary>
[Collection(nameof(GlobalRedisSetup))]
public sealed class ReadmeExamples(RedisServerFixture fixture) : RedisTestBase(fixture)
{
    [RedisFact]
    public async Task Examples_CompileAndRun()
    {
        var users = await Example.RunAsync(Fixture.EndPoint, Prefix);

        Assert.Equal("Ann", users.Name);
        Assert.Contains(ValueKeyText("users.by-email~ignore(traceId):ann@example.com"), Keys());
        Assert.Contains(ValueKeyText("users.get:42"), Keys());
    }

    [RedisFact]
    public async Task DependencyInjection_AddCachifyRedis_IsUsedByICachify()
    {
        using var provider = DependencyInjectionExample.Build(Fixture.EndPoint, Prefix);
        var cachify = provider.GetRequiredService<ICachify>();

        var getUser = cachify.Wrap((int id) => Task.FromResult(new User(id, "Ann"))).Named("users.get");
        Assert.Equal("Ann", (await getUser.Invoke(7)).Name);
        Assert.Contains(ValueKeyText("users.get:7"), Keys());
    }

    private static class DependencyInjectionExample
    {
        // From "Dependency injection".
        public static ServiceProvider Build(string endpoint, string prefix)
        {
            var services = new ServiceCollection();
            services.AddCachifyRedis(endpoint, new RedisCacheOptions { KeyPrefix = prefix }); // connects, unless an IConnectionMultiplexer is registered
            services.AddCachify(options => options.DefaultTtl = TimeSpan.FromMinutes(5));     // the default TTL of ICachify.Wrap
            return services.BuildServiceProvider();
        }
    }

    private static class Example
    {
        private static readonly UserDb Db = new();

        // From "Setup": a wrapper in a static field, created before CachifyRedis.Configure runs.
        private static readonly AsyncCachedFunc<int, User> GetUser =
            Cachify.Wrap((int id) => Db.GetUserAsync(id)).Named("users.get").Ttl(TimeSpan.FromMinutes(5)).UseRedis();

        public static async Task<User> RunAsync(string endpoint, string prefix)
        {
            var db = new UserDb();
            var connection = await ConnectionMultiplexer.ConnectAsync(endpoint); // yours: Cachify never disposes it
            try
            {
                var redis = new RedisCacheBackend(connection, new RedisCacheOptions
                {
                    KeyPrefix = prefix,                      // default "cachify"
                    LockTimeout = TimeSpan.FromSeconds(10),  // default 10 s
                    OnError = RedisErrorMode.Silent,         // default: Redis trouble never fails a call
                });

                var getUser = Cachify.Wrap((int id) => db.GetUserAsync(id)).Named("users.get").NoSelf().Backend(redis);
                var user = await getUser.Invoke(42);

                CachifyRedis.Configure(connection, new RedisCacheOptions { KeyPrefix = prefix });
                var same = await GetUser.Invoke(42);

                // From "Keys".
                var repo = new UserRepository(db);
                var byId = Cachify.Wrap<int, User>(repo.GetUser).NoSelf().Backend(redis);                  // instances share
                var byEmail = Cachify.Wrap((string email, Guid traceId) => repo.FindUser(email))
                    .IgnoreArgs("traceId").Named("users.by-email").NoSelf().Backend(redis);                 // key: users.by-email~ignore(traceId):ann@example.com
                var search = Cachify.Wrap((SearchRequest request) => repo.Search(request))
                    .KeyBy(request => request.Query + "/" + request.Page).Named("users.search").Backend(redis);

                // From "Values".
                var options = new RedisCacheOptions
                {
                    Serializer = new SystemTextJsonCacheSerializer(new JsonSerializerOptions(JsonSerializerDefaults.Web)),
                };

                Assert.Equal(user, same);
                Assert.Equal(user, byId.Invoke(42));
                Assert.Equal(user, byEmail.Invoke("ann@example.com", Guid.NewGuid()));
                Assert.Single(search.Invoke(new SearchRequest("ann", 1)));
                Assert.NotNull(options.Serializer);
                redis.Dispose();
                return user;
            }
            finally
            {
                CachifyRedis.Reset();
                connection.Dispose();
            }
        }
    }

    private sealed record User(int Id, string Name);

    private sealed record SearchRequest(string Query, int Page);

    private sealed class UserDb
    {
        public Task<User> GetUserAsync(int id) => Task.FromResult(new User(id, "Ann"));
    }

    private sealed class UserRepository(UserDb db)
    {
        public User GetUser(int id) => db.GetUserAsync(id).GetAwaiter().GetResult();

        public User FindUser(string email) => new(42, "Ann");

        public User[] Search(SearchRequest request) => [new User(42, "Ann")];
    }
}
