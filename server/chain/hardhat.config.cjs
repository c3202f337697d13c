// Hardhat 2's local EVM for `npm run chain:dev` and the chain tests (server/chain/local-evm.ts).
// Nothing is compiled by Hardhat: the contract is built with the solc npm package (build.ts).
// Chain id 31337, the default accounts of the well-known test mnemonic, automine on.
module.exports = {
  networks: { hardhat: { chainId: 31337, hardfork: 'cancun' } },
};
