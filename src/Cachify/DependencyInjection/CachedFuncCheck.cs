using Microsoft.Extensions.Options;

namespace CachifyNet.DependencyInjection;

/// <summary>
/// The options that stand for one <c>AddCachedFunc</c> registration (named by its service type), validated when the
/// host starts: validation builds and binds the cached function, so what its backend refuses fails the start.
/// </summary>
internal sealed class CachedFuncCheck;

/// <summary>Builds and binds the cached function registered under <see cref="Name"/>; the failure speaks to the registration.</summary>
internal sealed class CachedFuncCheckValidator(IServiceProvider provider, string name, string registration, Action<IServiceProvider, object> bind, object state) : IValidateOptions<CachedFuncCheck>
{
    public string Name => name;

    public ValidateOptionsResult Validate(string? optionsName, CachedFuncCheck options)
    {
        if (optionsName != name)
        {
            return ValidateOptionsResult.Skip;
        }

        try
        {
            bind(provider, state);
            return ValidateOptionsResult.Success;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or NotSupportedException)
        {
            return ValidateOptionsResult.Fail(ForRegistration(registration, e));
        }
    }

    /// <summary>
    /// The message of a refusal, for someone who registered the function with <c>AddCachedFunc</c>: the advice for
    /// wrappers on a default backend ("where it is wrapped") becomes advice about the <c>configure</c> argument.
    /// </summary>
    internal static string ForRegistration(string registration, Exception e)
        => $"{registration} is refused: "
            + (e is ArgumentException { ParamName: { } param } ? e.Message.Replace($" (Parameter '{param}')", string.Empty, StringComparison.Ordinal) : e.Message)
                .Replace(" where it is wrapped", " in AddCachedFunc's configure argument", StringComparison.Ordinal)
                .Replace("Where it is wrapped, call", "In AddCachedFunc's configure argument, call", StringComparison.Ordinal)
            + " (A registered function's arguments are named arg1, arg2, cancellationToken; its key never holds the service, which each execution resolves from its own scope.)";
}
