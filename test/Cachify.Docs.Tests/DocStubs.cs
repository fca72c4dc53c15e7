// The names the documentation's snippets take as given. Compiled with each C# block of README.md and docs/ by
// DocsExamplesTests (imported with `global using static DocStubs;`), never run: members only need the right types.
// Fully qualified, so that the stubs compile whatever usings a page declares.
#pragma warning disable CS8618

public static class DocStubs
{
    // Services and clients a snippet calls.
    public static UserRepository repo => throw null!;
    public static UserDb db => throw null!;
    public static UserDb Db => throw null!;
    public static global::System.Net.Http.HttpClient http => throw null!;
    public static RateService fx => throw null!;
    public static MarketService market => throw null!;

    // What an app has at hand: the host builder, a Redis connection, a backend, logging, a token.
    public static global::Microsoft.AspNetCore.Builder.WebApplicationBuilder builder => throw null!;
    public static global::StackExchange.Redis.IConnectionMultiplexer connection => throw null!;
    public static global::CachifyNet.Redis.RedisCacheBackend redis => throw null!;
    public static global::Microsoft.Extensions.Caching.Distributed.IDistributedCache distributedCache => throw null!;
    public static global::Microsoft.Extensions.Caching.Memory.IMemoryCache appMemoryCache => throw null!;
    public static global::Microsoft.Extensions.Logging.ILoggerFactory loggerFactory => throw null!;
    public static global::System.Threading.CancellationToken token => default;
    public static global::System.Threading.CancellationToken cancellationToken => default;
    public static global::Microsoft.AspNetCore.Builder.WebApplication app => throw null!;
    public static string connectionString => throw null!;
    public static string testPrefix => throw null!;

    // A wrapper made in an earlier snippet of the page.
    public static global::CachifyNet.AsyncCachedFunc<int, User> getUser => throw null!;

    // Functions a snippet wraps.
    public static int[] Sieve(int n) => throw null!;
    public static global::System.Threading.Tasks.Task<AppConfig> LoadConfigAsync() => throw null!;
    public static global::System.Threading.Tasks.Task<decimal> LoadPriceAsync(int sku) => throw null!;
    public static string[] Search(string query, global::System.Guid traceId) => throw null!;
    public static string RenderInvoice(Order order) => throw null!;
    public static string Load(int id, string culture) => throw null!;

    public sealed record User(int Id, string Name);

    public sealed record SearchRequest(string Query, int Page);

    public sealed record Order(int Id, int Version);

    public sealed record Forecast(string City, double Celsius);

    public sealed record AppConfig(string Name);

    public sealed class UserDb
    {
        public global::System.Threading.Tasks.Task<User> GetUserAsync(int id) => throw null!;
    }

    public sealed class UserRepository(UserDb db)
    {
        public UserDb Db { get; } = db;
        public User GetUser(int id) => throw null!;
        public global::System.Threading.Tasks.Task<User> GetUserAsync(int id) => throw null!;
        public global::System.Threading.Tasks.Task<User> GetUserAsync(int id, global::System.Threading.CancellationToken cancellationToken) => throw null!;
        public global::System.Threading.Tasks.ValueTask<User> FindAsync(int id) => throw null!;
        public global::System.Threading.Tasks.ValueTask<User> GetAsync(int id) => throw null!;
        public User Find(int id, global::System.Threading.CancellationToken cancellationToken) => throw null!;
        public User FindUser(string email) => throw null!;
        public global::System.Threading.Tasks.Task<User> FindUserAsync(int id, global::System.Threading.CancellationToken cancellationToken) => throw null!;
        public User[] Search(SearchRequest request) => throw null!;
    }

    public sealed class WeatherService
    {
        public Forecast GetForecast(string city) => throw null!;
    }

    public sealed class RateService
    {
        public decimal GetRate(string currency) => throw null!;
    }

    // The catalog of docs/aspnetcore.md: a scoped EF Core DbContext and the scoped service that reads it.
    public sealed class CatalogDb(global::Microsoft.EntityFrameworkCore.DbContextOptions<CatalogDb> options) : global::Microsoft.EntityFrameworkCore.DbContext(options);

    public sealed record CatalogPage(int Page, string[] Products);

    public sealed class CatalogService(CatalogDb db)
    {
        public CatalogDb Db { get; } = db;
        public global::System.Threading.Tasks.Task<CatalogPage> GetPageAsync(int page, global::System.Threading.CancellationToken cancellationToken) => throw null!;
    }

    public sealed class MarketService
    {
        public global::System.Threading.Tasks.Task<decimal> GetQuoteAsync(string symbol) => throw null!;
    }
}
