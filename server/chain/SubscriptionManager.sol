// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

/// @title SubscriptionManager (BuffMoney reference implementation)
/// @notice The on-chain merchant registry behind "V2: On-chain registration". A merchant's wallet
/// calls registerMerchant with the receiver that settlements go to and the keccak256 of its
/// canonical (RFC 8785) metadata; the contract assigns the next merchant id and emits
/// MerchantRegistered, which BuffMoney's chain listener matches back to the merchant by
/// (chainId, metadataHash). The contract never holds funds.
contract SubscriptionManager {
    struct Merchant {
        address admin;
        address receiver;
        bytes32 metadataHash;
        bool active;
    }

    address public owner;
    uint256 public merchantCount;
    mapping(uint256 => Merchant) private merchants;

    event MerchantRegistered(uint256 indexed merchantId, address indexed admin, address receiver, bytes32 metadataHash);
    event MerchantActiveChanged(uint256 indexed merchantId, bool active);
    event ReceiverUpdated(uint256 indexed merchantId, address receiver);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    error ZeroReceiver();
    error UnknownMerchant(uint256 merchantId);
    error NotAuthorised(uint256 merchantId, address caller);
    error NotOwner(address caller);
    error ZeroOwner();

    constructor() {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
    }

    /// @notice Registers the caller as the admin of a new merchant; ids start at 1.
    function registerMerchant(address receiver, bytes32 metadataHash) external returns (uint256 merchantId) {
        if (receiver == address(0)) revert ZeroReceiver();
        merchantId = ++merchantCount;
        merchants[merchantId] = Merchant({admin: msg.sender, receiver: receiver, metadataHash: metadataHash, active: true});
        emit MerchantRegistered(merchantId, msg.sender, receiver, metadataHash);
    }

    /// @notice The merchant's admin or the contract owner turns the merchant off or on again.
    function setMerchantActive(uint256 merchantId, bool active) external {
        Merchant storage m = _authorised(merchantId);
        if (m.active != active) {
            m.active = active;
            emit MerchantActiveChanged(merchantId, active);
        }
    }

    /// @notice The merchant's admin or the contract owner changes where settlements go.
    function updateReceiver(uint256 merchantId, address receiver) external {
        if (receiver == address(0)) revert ZeroReceiver();
        Merchant storage m = _authorised(merchantId);
        m.receiver = receiver;
        emit ReceiverUpdated(merchantId, receiver);
    }

    function transferOwnership(address newOwner) external {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        if (newOwner == address(0)) revert ZeroOwner();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    function getMerchant(uint256 merchantId)
        external
        view
        returns (address admin, address receiver, bytes32 metadataHash, bool active)
    {
        Merchant storage m = merchants[merchantId];
        if (m.admin == address(0)) revert UnknownMerchant(merchantId);
        return (m.admin, m.receiver, m.metadataHash, m.active);
    }

    function _authorised(uint256 merchantId) private view returns (Merchant storage m) {
        m = merchants[merchantId];
        if (m.admin == address(0)) revert UnknownMerchant(merchantId);
        if (msg.sender != m.admin && msg.sender != owner) revert NotAuthorised(merchantId, msg.sender);
    }
}
