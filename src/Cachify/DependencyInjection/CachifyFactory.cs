using CachifyNet.Internal;
using Microsoft.Extensions.Options;

namespace CachifyNet.DependencyInjection;

/// <summary>The <see cref="ICachify"/> that <c>AddCachify</c> registers: the app's backend and options.</summary>
internal sealed class CachifyFactory(IOptions<CachifyOptions> options, ICacheBackend backend, ServiceLifetimes? lifetimes = null) : ICachify
{
    public TimeSpan DefaultTtl { get; } = options.Value.DefaultTtl;

    public ICacheBackend Backend { get; } = backend;

    /// <summary>Tells wrappers whose target is a scoped or transient service (null when made outside <c>AddCachify</c>).</summary>
    public ServiceLifetimes? Lifetimes { get; } = lifetimes;
}

/// <summary>Validates <see cref="CachifyOptions"/> at start-up with the same rules as the fluent options.</summary>
internal sealed class CachifyOptionsValidator : IValidateOptions<CachifyOptions>
{
    public ValidateOptionsResult Validate(string? name, CachifyOptions options)
    {
        var errors = new List<string>();
        if (options.DefaultTtl <= TimeSpan.Zero || options.DefaultTtl > Guard.MaxTtl)
        {
            errors.Add($"CachifyOptions.DefaultTtl is {options.DefaultTtl}; it must be positive and at most 365 days, for example TimeSpan.FromMinutes(5).");
        }

        if (options.MemoryEntrySize <= 0)
        {
            errors.Add($"CachifyOptions.MemoryEntrySize is {options.MemoryEntrySize}; it must be positive (the size each entry counts against MemoryCacheOptions.SizeLimit).");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
