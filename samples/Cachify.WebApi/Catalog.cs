using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace CachifyNet.WebApi;

/// <summary>A product: the EF Core entity (tracked, mutable; it never leaves the request that loaded it).</summary>
public sealed class Product
{
    /// <summary>Gets or sets the key.</summary>
    public int Id { get; set; }

    /// <summary>Gets or sets the name.</summary>
    public required string Name { get; set; }

    /// <summary>Gets or sets the price.</summary>
    public decimal Price { get; set; }
}

/// <summary>A product as the cache keeps it: an immutable record, which round-trips through JSON (Redis) unchanged.</summary>
/// <param name="Id">The key.</param>
/// <param name="Name">The name.</param>
/// <param name="Price">The price.</param>
public sealed record ProductView(int Id, string Name, decimal Price);

/// <summary>One page of the catalog, as cached.</summary>
/// <param name="Page">The page number, from 1.</param>
/// <param name="Items">The products of the page.</param>
public sealed record CatalogPage(int Page, IReadOnlyList<ProductView> Items);

/// <summary>The catalog database (SQLite): scoped, one per request or per cached execution.</summary>
/// <param name="options">The options.</param>
public sealed class CatalogDb(DbContextOptions<CatalogDb> options) : DbContext(options)
{
    /// <summary>Gets the products.</summary>
    public DbSet<Product> Products => Set<Product>();

    /// <inheritdoc/>
    protected override void OnModelCreating(ModelBuilder modelBuilder)
        => modelBuilder.Entity<Product>().Property(p => p.Price).HasConversion<double>();
}

/// <summary>
/// The catalog's reads and writes, over the scoped <see cref="CatalogDb"/>: a scoped service, as in most apps. It knows
/// nothing of the cache; <c>AddCachedFunc</c> in Program.cs caches <see cref="GetPageAsync"/>.
/// </summary>
/// <param name="db">The request's (or the cached execution's) database context.</param>
public sealed class CatalogService(CatalogDb db)
{
    /// <summary>Products per page.</summary>
    public const int PageSize = 10;

    /// <summary>Reads one page of products, ordered by id.</summary>
    /// <param name="page">The page number, from 1.</param>
    /// <param name="cancellationToken">Cancels the query.</param>
    /// <returns>The page.</returns>
    public async Task<CatalogPage> GetPageAsync(int page, CancellationToken cancellationToken)
    {
        var items = await db.Products.AsNoTracking().OrderBy(p => p.Id).Skip((page - 1) * PageSize).Take(PageSize)
            .Select(p => new ProductView(p.Id, p.Name, p.Price)).ToListAsync(cancellationToken);
        return new CatalogPage(page, items);
    }

    /// <summary>Adds a product.</summary>
    /// <param name="name">The name.</param>
    /// <param name="price">The price.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>The new product.</returns>
    public async Task<ProductView> AddAsync(string name, decimal price, CancellationToken cancellationToken)
    {
        var product = new Product { Name = name, Price = price };
        db.Products.Add(product);
        await db.SaveChangesAsync(cancellationToken);
        return new ProductView(product.Id, product.Name, product.Price);
    }

    /// <summary>Creates the database and its first products when it does not exist.</summary>
    /// <param name="services">The app's services.</param>
    public static void Seed(IServiceProvider services)
    {
        using var scope = services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<CatalogDb>();
        if (db.Database.EnsureCreated())
        {
            db.Products.AddRange(Enumerable.Range(1, 25).Select(i => new Product { Name = $"Product {i}", Price = i * 1.5m }));
            db.SaveChanges();
        }
    }
}

/// <summary>Counts the SQL queries the app sends (a singleton interceptor), so tests can tell hits from database reads.</summary>
public sealed class QueryCounter : DbCommandInterceptor
{
    private int _queries;

    /// <summary>Gets how many queries (readers and scalars) were sent.</summary>
    public int Queries => Volatile.Read(ref _queries);

    /// <summary>Gets or sets a task each query waits for before it runs (tests hold queries with it); null runs them at once.</summary>
    public Task? Gate { get; set; }

    /// <summary>Gets or sets a signal set when a query starts waiting for <see cref="Gate"/>.</summary>
    public TaskCompletionSource? Waiting { get; set; }

    /// <inheritdoc/>
    public override async ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _queries);
        if (Gate is { } gate)
        {
            Waiting?.TrySetResult();
            await gate.WaitAsync(cancellationToken);
        }

        return result;
    }

    /// <inheritdoc/>
    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Interlocked.Increment(ref _queries);
        return result;
    }

    /// <inheritdoc/>
    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _queries);
        return ValueTask.FromResult(result);
    }
}
