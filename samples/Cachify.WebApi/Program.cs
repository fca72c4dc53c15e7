using CachifyNet;
using CachifyNet.Stores;
using CachifyNet.WebApi;
using Microsoft.EntityFrameworkCore;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

// A web API that caches with Cachify through dependency injection: a slow singleton service (the forecast), and the
// reads of a scoped EF Core service (the catalog, SQLite) through AddCachedFunc, whose every execution runs in its own
// DI scope. Cachify:Backend picks the store: "Memory" (the default) or "Redis" (Cachify:Redis is the connection
// string). Cachify:LocalCache bounds the memory level: SizeLimit (entries) and, on Redis, MaxLifetime (how long a local
// copy in front of Redis may live). Cachify's metrics (meter "Cachify") are exposed in Prometheus format at /metrics.
// Packages: Cachify, Cachify.Redis, Cachify.OpenTelemetry, Microsoft.EntityFrameworkCore.Sqlite, OpenTelemetry.Extensions.Hosting,
// OpenTelemetry.Exporter.Prometheus.AspNetCore (prerelease).
var builder = WebApplication.CreateBuilder(args);

var localCache = builder.Configuration.GetSection("Cachify:LocalCache").Get<LocalCacheOptions>() ?? new LocalCacheOptions();
if (string.Equals(builder.Configuration["Cachify:Backend"], "Redis", StringComparison.OrdinalIgnoreCase))
{
    // Every app instance on this Redis shares the entries; each keeps copies of the ones it reads in memory, at most
    // Cachify:LocalCache:SizeLimit of them.
    builder.Services.AddCachifyRedis(
        builder.Configuration["Cachify:Redis"] ?? throw new InvalidOperationException("Cachify:Backend is Redis but Cachify:Redis (the connection string) is not set."),
        new CachifyNet.Redis.RedisCacheOptions
        {
            KeyPrefix = "webapi",
            LocalCache = localCache,
        });
}
else
{
    // The memory backend keeps its entries in the app's IMemoryCache: each counts 1 against its SizeLimit.
    builder.Services.AddMemoryCache(options => options.SizeLimit = localCache.SizeLimit);
    builder.Services.AddCachify(options => options.DefaultTtl = TimeSpan.FromSeconds(30));
}

builder.Services.Configure<WeatherOptions>(builder.Configuration.GetSection("Weather"));
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<WeatherService>();
builder.Services.AddSingleton<CachedWeather>();

// The catalog: a scoped DbContext and a scoped service, as in most apps.
builder.Services.AddSingleton<QueryCounter>();
builder.Services.AddDbContext<CatalogDb>((services, options) => options
    .UseSqlite(builder.Configuration.GetConnectionString("Catalog") ?? "Data Source=catalog.db")
    .AddInterceptors(services.GetRequiredService<QueryCounter>()));
builder.Services.AddScoped<CatalogService>();

// The cached read: an injectable singleton CancellableAsyncCachedFunc<int, CatalogPage>. Each execution (a miss,
// a skip-cache call, a never-die refresh) resolves CatalogService, and with it a DbContext, from a scope of its own.
builder.Services.AddCachedFunc<CatalogService, int, CatalogPage>(
    (catalog, page, cancellationToken) => catalog.GetPageAsync(page, cancellationToken),
    o => o.Named("catalog.page").Ttl(TimeSpan.FromMinutes(1)).NeverDie(TimeSpan.FromMinutes(30)));

builder.Services.AddOpenTelemetry()
    .WithMetrics(metrics => metrics
        .AddCachifyInstrumentation()   // the meter "Cachify"; without Cachify.OpenTelemetry: .AddMeter("Cachify")
        .AddPrometheusExporter())
    .WithTracing(tracing => tracing
        .AddCachifyInstrumentation()); // a span per execution; add an exporter, e.g. .AddOtlpExporter()

var app = builder.Build();
CatalogService.Seed(app.Services);

app.MapGet("/forecast/{city}", (string city, CachedWeather weather, CancellationToken cancellationToken)
    => weather.Forecast.Invoke(city, cancellationToken));

app.MapPost("/forecast/{city}/refresh", (string city, CachedWeather weather, CancellationToken cancellationToken)
    => weather.Forecast.Invoke(city, skipCache: true, cancellationToken));

app.MapDelete("/forecast/{city}", async (string city, CachedWeather weather) =>
{
    await weather.Forecast.InvalidateAsync(city); // the key arguments only: the token is not part of the key
    return Results.NoContent();
});

app.MapGet("/catalog/{page:int:min(1)}", (int page, CancellableAsyncCachedFunc<int, CatalogPage> pages, CancellationToken cancellationToken)
    => pages.Invoke(page, cancellationToken));

// A write goes to the database through the request's own scoped service, then drops every cached page (a new product
// can shift them all).
app.MapPost("/catalog/products", async (NewProduct product, CatalogService catalog, CancellableAsyncCachedFunc<int, CatalogPage> pages, CancellationToken cancellationToken) =>
{
    var created = await catalog.AddAsync(product.Name, product.Price, cancellationToken);
    await pages.ClearAsync(CancellationToken.None);
    return Results.Created($"/catalog/products/{created.Id}", created);
});

app.MapPrometheusScrapingEndpoint("/metrics");

app.Run();

/// <summary>The entry point, visible to the integration tests (WebApplicationFactory).</summary>
public partial class Program;

namespace CachifyNet.WebApi
{
    /// <summary>The body of <c>POST /catalog/products</c>.</summary>
    /// <param name="Name">The name.</param>
    /// <param name="Price">The price.</param>
    public sealed record NewProduct(string Name, decimal Price);
}
