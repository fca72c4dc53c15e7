using System.Reflection;
using Xunit.Sdk;

namespace CachifyNet.Conformance;

/// <summary>Runs a theory twice: with <c>async</c> false (the synchronous API) and true (the asynchronous one).</summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class SyncAndAsyncAttribute : DataAttribute
{
    /// <inheritdoc/>
    public override IEnumerable<object[]> GetData(MethodInfo testMethod) => [[false], [true]];
}
